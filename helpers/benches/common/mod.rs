//! What the benchmarks share: realistic messages.

use helpers::core::generator::{Generator, GeneratorConfig};

/// `n` realistic messages (the default generator: ~120-150 B of JSON each), one second of
/// event time per 1000 events.
pub fn messages(n: usize, hashtags: usize) -> Vec<Vec<u8>> {
    // Longer texts than the classroom default, so messages weigh ~150 B like real posts.
    let mut config = GeneratorConfig {
        phrases: vec![
            "increíble la velocidad de procesamiento en tiempo real con".into(),
            "mañana tenemos examen final de arquitecturas y repasamos".into(),
            "nuestro proyecto de la asignatura va sobre streaming con".into(),
        ],
        ..Default::default()
    };
    if hashtags > 4 {
        config.hashtags = (0..hashtags).map(|i| format!("#tag{i}")).collect();
        config.weights = vec![1.0; hashtags];
    }
    let mut g = Generator::new(config).expect("generator");
    let mut buf = Vec::new();
    (0..n)
        .map(|i| {
            g.next_json(1_733_940_000.0 + i as f64 / 1000.0, &mut buf);
            buf.clone()
        })
        .collect()
}
