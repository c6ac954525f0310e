//! The live page: a tiny web server on 127.0.0.1 that shows the dashboard and refreshes
//! itself every few seconds.
//!
//! evcxr cannot update a cell's output once the cell has finished, so the notebook shows
//! this page in an `<iframe>` ([`LivePage::iframe`]). The page fetches `/fragment` (the
//! dashboard's HTML) every `refresh` and swaps it in; `/snapshot.json` serves the raw
//! snapshot. It binds to loopback only, on a port the OS picks, and stops when the handle
//! is dropped or [`LivePage::stop`] is called.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::kafka::consumer::Pipeline;
use crate::sys::lock;
use crate::views::dashboard::dashboard;
use crate::views::html::{escape, Html};

/// Stops the server thread when the last handle goes.
#[derive(Debug)]
struct Server {
    /// Set to stop the accept loop.
    stop: Arc<AtomicBool>,
    /// The server thread.
    thread: Mutex<Option<JoinHandle<()>>>,
    /// Where it listens (to wake it up on stop).
    addr: SocketAddr,
}

impl Server {
    fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        // The server waits in a blocking accept: a connection wakes it to see the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(500));
        if let Some(t) = lock(&self.thread).take() {
            let _ = t.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Handle to the live page. Cheap to clone.
#[derive(Debug, Clone)]
pub struct LivePage {
    /// Where it listens (always 127.0.0.1).
    addr: SocketAddr,
    /// The server's owner.
    server: Arc<Server>,
}

impl LivePage {
    /// Serves the dashboard of `pipeline` on 127.0.0.1 (a free port), refreshing every
    /// `refresh`.
    pub fn start(pipeline: &Pipeline, refresh: Duration) -> Result<LivePage> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .map_err(|e| Error::io("cannot open the live page's port", "127.0.0.1:0", e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::os("cannot read the live page's address", e))?;
        let stop = Arc::new(AtomicBool::new(false));
        let thread_stop = stop.clone();
        let pipeline = pipeline.clone();
        let thread = std::thread::Builder::new()
            .name("live-page".into())
            .spawn(move || serve(listener, &pipeline, refresh, &thread_stop))
            .map_err(|e| Error::os("cannot start the live page thread", e))?;
        Ok(LivePage {
            addr,
            server: Arc::new(Server {
                stop,
                thread: Mutex::new(Some(thread)),
                addr,
            }),
        })
    }

    /// The page's address, e.g. `http://127.0.0.1:41234/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Where the server listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The page inside the notebook: an `<iframe>` (and a link, for a separate tab).
    pub fn iframe(&self) -> Html {
        let url = self.url();
        Html::new(
            format!(
                "<p><a href=\"{u}\" target=\"_blank\">{u}</a> (live, refreshes itself)</p>\
                 <iframe src=\"{u}\" width=\"100%\" height=\"760\" style=\"border:1px solid \
                     #ddd\"></iframe>",
                u = escape(&url)
            ),
            format!("live page: {url}"),
        )
    }

    /// Called by evcxr: shows the iframe.
    pub fn evcxr_display(&self) {
        self.iframe().evcxr_display();
    }

    /// Stops the server.
    pub fn stop(&self) {
        self.server.stop();
    }
}

fn serve(listener: TcpListener, pipeline: &Pipeline, refresh: Duration, stop: &AtomicBool) {
    loop {
        let accepted = listener.accept();
        if stop.load(Ordering::SeqCst) {
            return;
        }
        match accepted {
            Ok((stream, _)) => {
                let _ = handle(stream, pipeline, refresh);
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

fn handle(mut stream: TcpStream, pipeline: &Pipeline, refresh: Duration) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request = String::new();
    reader.read_line(&mut request)?;
    // Skip the headers.
    let mut line = String::new();
    while reader.read_line(&mut line)? > 2 {
        line.clear();
    }
    let path = request.split_whitespace().nth(1).unwrap_or("/");
    let (status, kind, body) = match path {
        "/" | "/index.html" => ("200 OK", "text/html; charset=utf-8", page(refresh)),
        "/fragment" => ("200 OK", "text/html; charset=utf-8", fragment(pipeline)),
        "/snapshot.json" => (
            "200 OK",
            "application/json",
            serde_json::to_string(&pipeline.snapshot()).unwrap_or_else(|_| "null".into()),
        ),
        _ => ("404 Not Found", "text/plain", "not found".to_string()),
    };
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nCache-Control: \
            no-store\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    stream.flush()
}

fn fragment(pipeline: &Pipeline) -> String {
    match pipeline.snapshot() {
        Some(snap) => match dashboard(&snap, pipeline.config().window.slide) {
            Ok(html) => html.markup,
            Err(e) => format!("<p>{}</p>", escape(&e.to_string())),
        },
        None => {
            let st = pipeline.status();
            format!(
                "<p>Waiting for the first trigger… (consumer: {})</p>",
                escape(&format!("{:?}", st.broker))
            )
        }
    }
}

fn page(refresh: Duration) -> String {
    let ms = refresh.as_millis().max(500);
    format!(
        r#"<!doctype html>
<html><head><meta charset="utf-8"><title>Trending hashtags (live)</title>
<style>body{{font-family:sans-serif;margin:8px}} td,th{{font-family:monospace}}</style>
<noscript><meta http-equiv="refresh" content="{secs}"></noscript>
</head><body>
<h3>Trending hashtags <small id="clock" style="color:#888"></small></h3>
<div id="dashboard">Loading…</div>
<script>
async function refresh() {{
  try {{
    const r = await fetch('/fragment', {{cache: 'no-store'}});
    document.getElementById('dashboard').innerHTML = await r.text();
    document.getElementById('clock').textContent = 'updated ' + new Date().toLocaleTimeString();
  }} catch (e) {{
    document.getElementById('clock').textContent = 'the notebook stopped serving this page';
  }}
}}
refresh();
setInterval(refresh, {ms});
</script>
</body></html>"#,
        secs = (ms / 1000).max(1),
        ms = ms
    )
}
