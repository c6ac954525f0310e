//! What the examples share: reading micro-batch files.

/// The lines of every `.json` file of `dir`, one batch per file, files in name order.
pub fn read_batches(dir: &str) -> std::io::Result<Vec<Vec<Vec<u8>>>> {
    let mut files: Vec<_> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    files.retain(|p| p.extension().is_some_and(|x| x == "json"));
    files.sort();
    files
        .iter()
        .map(|f| {
            let text = std::fs::read(f)?;
            Ok(text
                .split(|b| *b == b'\n')
                .filter(|l| !l.is_empty())
                .map(<[u8]>::to_vec)
                .collect())
        })
        .collect()
}
