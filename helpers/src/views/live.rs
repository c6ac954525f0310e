//! The live page: a small web server on 127.0.0.1 that shows the dashboard and refreshes
//! itself every few seconds.
//!
//! evcxr cannot update a cell's output once the cell has finished, so the notebook shows
//! this page in an `<iframe>` ([`LivePage::show`]). The page's script (`live.js`)
//! fetches `fragment` (the dashboard's HTML) every `refresh` and swaps it in;
//! `snapshot.json` serves the raw snapshot. Every link of the page is relative, so it
//! works under a path prefix too. It binds to loopback only, on a port the OS picks, and
//! stops when the handle is dropped or [`LivePage::stop`] is called.
//!
//! # Remote Jupyter: through `jupyter-server-proxy`
//! A browser on another machine than the kernel (JupyterHub, a lab reached over SSH or
//! https) cannot reach the kernel's 127.0.0.1. Where the Jupyter server has
//! `jupyter-server-proxy`, it serves any local port at `<base_url>proxy/<port>/`, behind
//! Jupyter's own login. So the frame's HTML carries a small script: in a Jupyter page
//! (JupyterLab and Notebook 7 publish their base URL in `#jupyter-config-data`, the classic
//! notebook in `body[data-base-url]`) it asks `<base_url>proxy/<port>/<secret>/live.js`
//! and, if our script comes back, points the frame there ([`LivePage::proxy_path`]);
//! otherwise, or where scripts in outputs do not run (an untrusted notebook, GitHub), the
//! frame keeps the direct address. The proxy forwards the browser's own `Host` (Jupyter's),
//! which the checks below refuse; so requests under `/<secret>/` (a random 128-bit path
//! segment, made when the page starts, known only to the notebook's output) are answered
//! whatever their `Host`, and the rest only for the loopback names.
//!
//! # A server that any local program can talk to
//! Every program on the machine, and every web page a browser on it opens, can send
//! requests to a loopback port. So the server (hyper, HTTP/1 only, on a tokio runtime that
//! lives on the page's own thread, as evcxr requires) keeps to limits:
//!
//! * a request head (request line and headers) of at most [`MAX_HEAD_BYTES`], sent
//!   within [`HEADER_TIMEOUT`]; no request body; one request per connection, and no
//!   connection lives longer than [`CONNECTION_LIFETIME`], whatever the client does;
//! * at most [`MAX_CONNECTIONS`] connections at once: a new one closes the oldest, so
//!   idle or slow clients cannot keep the page from answering;
//! * only `Host: 127.0.0.1:<port>`, `localhost:<port>` or `[::1]:<port>` is answered
//!   (421 otherwise): a web page that renames itself to 127.0.0.1 through its own DNS
//!   ("DNS rebinding") cannot read the page. The one exception is a path under the
//!   page's secret (see above), which such a page cannot know;
//! * every answer forbids scripts other than our own `/live.js` (`Content-Security-Policy`)
//!   and content-type guessing (`X-Content-Type-Options: nosniff`): even markup that
//!   escaped escaping would not run.
//!
//! [`LivePage::stop`] returns within about half a second, whatever the clients do.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

use crate::core::lang::tr;
use crate::error::{Error, Result};
use crate::kafka::consumer::Pipeline;
use crate::sys::lock;
use crate::views::dashboard::dashboard;
use crate::views::html::{escape, Html};

/// Largest request head (request line and headers) accepted, in bytes (hyper's smallest
/// buffer); a longer one is answered 431 and the connection closed.
pub const MAX_HEAD_BYTES: usize = 8192;

/// Longest a client may take to send its request head.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(2);

/// Longest a connection lives, whatever the client does (it serves one request).
pub const CONNECTION_LIFETIME: Duration = Duration::from_secs(5);

/// Most connections served at once; a new connection beyond closes the oldest.
pub const MAX_CONNECTIONS: usize = 64;

/// Length of the secret path segment, in hex digits (128 bits).
const SECRET_HEX: usize = 32;

/// What every answer allows the browser to do: run our script only, fetch from us only,
/// show our inline styles (the tables and charts use `style` attributes) and nothing else.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    connect-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
    base-uri 'none'; form-action 'none'";

/// Stops the server thread when the last handle goes.
#[derive(Debug)]
struct Server {
    /// Tells the accept loop to stop (taken on stop).
    shutdown: Mutex<Option<oneshot::Sender<()>>>,
    /// The server thread.
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Server {
    fn stop(&self) {
        if let Some(tx) = lock(&self.shutdown).take() {
            let _ = tx.send(());
        }
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
    /// The secret path segment (hex) under which any `Host` is answered.
    secret: Arc<str>,
    /// The server's owner.
    server: Arc<Server>,
}

impl LivePage {
    /// Serves the dashboard of `pipeline` on 127.0.0.1 (a free port), refreshing every
    /// `refresh`.
    pub fn start(pipeline: &Pipeline, refresh: Duration) -> Result<LivePage> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::os("cannot start the live page's runtime", e))?;
        let listener = {
            // The socket registers with this runtime's reactor.
            let _entered = rt.enter();
            bind_loopback()
                .map_err(|e| Error::io("cannot open the live page's port", "127.0.0.1:0", e))?
        };
        let addr = listener
            .local_addr()
            .map_err(|e| Error::os("cannot read the live page's address", e))?;
        let secret: Arc<str> = random_hex()
            .map_err(|e| Error::os("cannot read random bytes for the live page", e))?
            .into();
        let page_id =
            random_hex().map_err(|e| Error::os("cannot read random bytes for the live page", e))?;
        let (tx, rx) = oneshot::channel();
        let site = Arc::new(Site {
            page_id: HeaderValue::from_str(&page_id).expect("hex is a header value"),
            pipeline: pipeline.clone(),
            refresh,
            hosts: allowed_hosts(addr.port()),
            secret: secret.clone(),
            cache: Mutex::default(),
        });
        let thread = std::thread::Builder::new()
            .name("live-page".into())
            .spawn(move || {
                rt.block_on(accept_loop(listener, site, rx));
                // Open connections are dropped (closed) with their tasks; nothing blocks.
                rt.shutdown_timeout(Duration::from_millis(500));
            })
            .map_err(|e| Error::os("cannot start the live page thread", e))?;
        Ok(LivePage {
            addr,
            secret,
            server: Arc::new(Server {
                shutdown: Mutex::new(Some(tx)),
                thread: Mutex::new(Some(thread)),
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

    /// Where Jupyter's `jupyter-server-proxy` serves the page, relative to the Jupyter
    /// server's base URL: `proxy/<port>/<secret>/` (see the module docs).
    pub fn proxy_path(&self) -> String {
        format!("proxy/{}/{}/", self.addr.port(), self.secret)
    }

    /// The page inside the notebook: an `<iframe>` (and a link, for a separate tab) on the
    /// direct address, and a script that switches both to Jupyter's proxy where there is
    /// one (see the module docs). The script marks its choice on the frame's box:
    /// `data-live-via` is `probing`, then `proxy` or `direct`.
    pub fn show(&self) -> Html {
        let url = self.url();
        Html::new(
            format!(
                "<div class=\"stream-demo-live\" data-proxy-path=\"{p}\">\
                 <p><a href=\"{u}\" target=\"_blank\">{u}</a> ({live})</p>\
                 <iframe src=\"{u}\" width=\"100%\" height=\"760\" style=\"border:1px solid \
                     #ddd\"></iframe><script>{FRAME_JS}</script></div>",
                u = escape(&url),
                p = escape(&self.proxy_path()),
                live = tr("live, refreshes itself", "en vivo, se actualiza sola"),
            ),
            format!("live page: {url}"),
        )
    }

    /// Called by evcxr: shows the iframe.
    pub fn evcxr_display(&self) {
        self.show().evcxr_display();
    }

    /// Stops the server: it returns within about half a second, whatever clients do.
    pub fn stop(&self) {
        self.server.stop();
    }
}

/// A listening socket on 127.0.0.1 (a free port) with a long accept queue, so a burst of
/// connections waits in the kernel instead of being refused.
fn bind_loopback() -> std::io::Result<TcpListener> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
    socket.listen(1024)
}

/// 128 random bits from the operating system, as 32 hex digits.
fn random_hex() -> std::io::Result<String> {
    use std::io::Read;
    let mut bytes = [0u8; SECRET_HEX / 2];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Whether two strings are equal, in a time that does not depend on where they differ.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The `Host` values answered: loopback names with our port.
fn allowed_hosts(port: u16) -> [String; 3] {
    [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
    ]
}

/// What the server serves, shared by the connections.
struct Site {
    /// The consumer whose snapshots are shown.
    pipeline: Pipeline,
    /// How often the page fetches a new fragment.
    refresh: Duration,
    /// The `Host` values answered (see [`allowed_hosts`]).
    hosts: [String; 3],
    /// The secret path segment: under it, any `Host` is answered (Jupyter's proxy).
    secret: Arc<str>,
    /// The newest snapshot's answers, made once and shared by every reader.
    cache: Mutex<Cache>,
    /// A random id every answer carries ([`PAGE_ID_HEADER`]) and the page knows: its script
    /// stops at once if something else answers at its address.
    page_id: HeaderValue,
}

/// The header that says an answer comes from this very page: the page's script stops at
/// once when a successful answer lacks it (another program took the port).
pub const PAGE_ID_HEADER: &str = "x-stream-demo-page";

/// The answers made from one snapshot: `/snapshot.json` and `/fragment`. Made at most once
/// per [`CACHE_EVERY`] and shared (reference-counted) by every connection sending them, so
/// a hundred slow readers hold one copy, and a request costs no serialising.
#[derive(Default)]
struct Cache {
    /// The trigger the answers are of.
    trigger: Option<u64>,
    /// When they were made.
    made: Option<std::time::Instant>,
    /// The snapshot as JSON.
    json: Bytes,
    /// The dashboard fragment.
    fragment: Bytes,
}

/// How often the cached answers may be made again (a trigger can fire every 10 ms).
const CACHE_EVERY: Duration = Duration::from_millis(500);

/// An answer's body: one shared buffer, sent once.
pub struct Shared(Option<Bytes>);

impl http_body::Body for Shared {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
        std::task::Poll::Ready(self.0.take().map(|b| Ok(http_body::Frame::data(b))))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_none()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.0.as_ref().map_or(0, |b| b.len() as u64))
    }
}

/// The open connections, oldest first, each with the switch that closes it.
type Connections = Mutex<VecDeque<(u64, oneshot::Sender<()>)>>;

/// Accepts connections until `shutdown`; each is served on a task of its own, within the
/// limits in the module docs.
async fn accept_loop(listener: TcpListener, site: Arc<Site>, mut shutdown: oneshot::Receiver<()>) {
    let open: Arc<Connections> = Arc::default();
    for id in 0u64.. {
        let accepted = tokio::select! {
            _ = &mut shutdown => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((stream, _)) = accepted else {
            // Out of file descriptors, most likely: let connections close, then go on.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let (close, closed) = oneshot::channel();
        {
            let mut open = lock(&open);
            while open.len() >= MAX_CONNECTIONS {
                // Closing the oldest: a slow or idle client cannot hold a place for long.
                if let Some((_, oldest)) = open.pop_front() {
                    let _ = oldest.send(());
                }
            }
            open.push_back((id, close));
        }
        tokio::spawn(serve_connection(
            stream,
            site.clone(),
            closed,
            open.clone(),
            id,
        ));
    }
}

/// Serves one connection (one request) until it is done, closed to make room, or has
/// lived [`CONNECTION_LIFETIME`].
async fn serve_connection(
    stream: TcpStream,
    site: Arc<Site>,
    closed: oneshot::Receiver<()>,
    open: Arc<Connections>,
    id: u64,
) {
    let service = service_fn(move |req| {
        let site = site.clone();
        async move {
            let mut answer = site.answer(&req);
            answer
                .headers_mut()
                .insert(PAGE_ID_HEADER, site.page_id.clone());
            Ok::<_, Infallible>(answer)
        }
    });
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .max_buf_size(MAX_HEAD_BYTES)
        .keep_alive(false)
        .serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        _ = connection => {}
        _ = closed => {}
        _ = tokio::time::sleep(CONNECTION_LIFETIME) => {}
    }
    lock(&open).retain(|(i, _)| *i != id);
}

impl Site {
    /// The answer to one request (the connection is closed after it).
    fn answer(&self, req: &Request<Incoming>) -> Response<Shared> {
        let (path, has_secret) = self.strip_secret(req.uri().path());
        if let Some(refused) = self.refusal(req, has_secret) {
            return refused;
        }
        match path {
            "/" | "/index.html" => respond(
                StatusCode::OK,
                "text/html; charset=utf-8",
                page(self.refresh, self.page_id.to_str().unwrap_or("")),
            ),
            "/live.js" => respond(
                StatusCode::OK,
                "text/javascript; charset=utf-8",
                LIVE_JS.to_string(),
            ),
            "/fragment" => respond(
                StatusCode::OK,
                "text/html; charset=utf-8",
                self.cached(|c| c.fragment.clone()),
            ),
            "/snapshot.json" => respond(
                StatusCode::OK,
                "application/json",
                self.cached(|c| c.json.clone()),
            ),
            _ => plain(StatusCode::NOT_FOUND, "not found"),
        }
    }

    /// One of the newest snapshot's answers, made again if a newer trigger came and the
    /// last were made more than [`CACHE_EVERY`] ago.
    fn cached(&self, pick: impl Fn(&Cache) -> Bytes) -> Bytes {
        let mut cache = lock(&self.cache);
        let snap = self.pipeline.snapshot();
        let trigger = snap.as_ref().map(|s| s.metrics.trigger_id);
        let stale = cache.made.is_none_or(|m| m.elapsed() >= CACHE_EVERY);
        // Before the first trigger the fragment shows the consumer's state, which changes.
        if cache.made.is_none() || (stale && (trigger != cache.trigger || trigger.is_none())) {
            cache.json = serde_json::to_string(&snap.as_deref())
                .unwrap_or_else(|_| "null".into())
                .into();
            cache.fragment = fragment(&self.pipeline).into();
            cache.trigger = trigger;
            cache.made = Some(std::time::Instant::now());
        }
        pick(&cache)
    }

    /// `path` without its leading `/<secret>`, and whether it had one (`/<secret>/x` is
    /// `/x`; `/<secret>` alone is not stripped).
    fn strip_secret<'a>(&self, path: &'a str) -> (&'a str, bool) {
        let rest = path.strip_prefix('/').unwrap_or(path);
        match rest.get(..SECRET_HEX) {
            Some(head)
                if same_secret(head.as_bytes(), self.secret.as_bytes())
                    && rest[SECRET_HEX..].starts_with('/') =>
            {
                (&rest[SECRET_HEX..], true)
            }
            _ => (path, false),
        }
    }

    /// Why a request is not answered, if it is not: a `Host` that is not ours (unless the
    /// path has the secret), a method other than GET/HEAD, or a body.
    fn refusal(&self, req: &Request<Incoming>, has_secret: bool) -> Option<Response<Shared>> {
        let Some(host) = req.headers().get(header::HOST) else {
            return Some(plain(StatusCode::BAD_REQUEST, "a Host header is required"));
        };
        let host = host.to_str().unwrap_or("").to_ascii_lowercase();
        let authority_ok = req
            .uri()
            .authority()
            .is_none_or(|a| self.hosts.iter().any(|h| h == a.as_str()));
        if !has_secret && (!self.hosts.contains(&host) || !authority_ok) {
            return Some(plain(
                StatusCode::MISDIRECTED_REQUEST,
                &format!(
                    "this page answers only to {} (or localhost, [::1] with that port)",
                    self.hosts[0]
                ),
            ));
        }
        if req.method() != Method::GET && req.method() != Method::HEAD {
            let mut r = plain(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD");
            r.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            return Some(r);
        }
        let has_body = req.headers().contains_key(header::TRANSFER_ENCODING)
            || req
                .headers()
                .get(header::CONTENT_LENGTH)
                .is_some_and(|v| v.as_bytes() != b"0");
        if has_body {
            return Some(plain(
                StatusCode::PAYLOAD_TOO_LARGE,
                "requests with a body are not accepted",
            ));
        }
        None
    }
}

/// A plain-text answer.
fn plain(status: StatusCode, text: &str) -> Response<Shared> {
    respond(status, "text/plain; charset=utf-8", format!("{text}\n"))
}

/// An answer with the headers every answer carries (see the module docs).
fn respond(status: StatusCode, kind: &'static str, body: impl Into<Bytes>) -> Response<Shared> {
    let mut r = Response::new(Shared(Some(body.into())));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    r
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
                "<p>{} ({}: {})</p>",
                tr(
                    "Waiting for the first trigger…",
                    "Esperando al primer disparador…"
                ),
                tr("consumer", "consumidor"),
                escape(&st.broker.to_string())
            )
        }
    }
}

/// The page's only script: fetches the dashboard every `data-refresh-ms` and swaps it in.
/// (A file of its own, not inline, so the policy can forbid every inline script.) The
/// address is relative: the same script works at `/` and under a proxy's prefix.
///
/// When a fetch fails (the notebook stopped the page, or a proxy answers that nothing
/// listens) it tries again later, twice as long each time up to a minute, and recovers
/// when the page answers again; after ten minutes of failures it gives up. Behind a proxy
/// each request carries the browser's Jupyter cookies to whatever listens on the port, so
/// every answer must carry this page's id ([`PAGE_ID_HEADER`], also in `data-page-id`):
/// a successful answer without it (another program took the port) stops the script at
/// once, after that one request.
/// Its first line is what the notebook's frame script looks for (see [`FRAME_JS`]).
const LIVE_JS: &str = r#"// stream-demo live page
const every = Number(document.body.dataset.refreshMs) || 2000;
const id = document.body.dataset.pageId || '';
let failures = 0;
let failingSince = null;
async function refresh() {
  const clock = document.getElementById('clock');
  let again = true;
  try {
    const r = await fetch('fragment', {cache: 'no-store'});
    if (r.headers.get('x-stream-demo-page') !== id && r.status < 500) {
      clock.textContent = 'another program answers at this address: stopped';
      again = false;
    } else {
      if (!r.ok) throw new Error('HTTP ' + r.status);
      document.getElementById('dashboard').innerHTML = await r.text();
      clock.textContent = 'updated ' + new Date().toLocaleTimeString();
      failures = 0;
      failingSince = null;
    }
  } catch (e) {
    failures += 1;
    if (failingSince === null) failingSince = Date.now();
    if (Date.now() - failingSince > 600000) {
      clock.textContent = 'the notebook stopped serving this page';
      again = false;
    } else {
      clock.textContent = 'the page does not answer: trying again';
    }
  }
  if (again) setTimeout(refresh, Math.min(60000, every * 2 ** failures));
}
refresh();
"#;

/// The script in the notebook's frame ([`LivePage::show`]): in a page served by a
/// Jupyter server (its base URL in `#jupyter-config-data`, or `body[data-base-url]` in the
/// classic notebook), it asks for `<base_url><proxy path>live.js`; if our script comes
/// back (`jupyter-server-proxy` is there and the page is up), the frame and the link move
/// to the proxy. Otherwise they keep the direct address. It runs where the notebook's
/// outputs are trusted (JupyterLab and Notebook 7 run scripts in a trusted `text/html`
/// output; a notebook you ran yourself is trusted), and nowhere else, which is fine: the
/// direct address is the fallback. The box gets `data-live-via`: `probing`, then `proxy`
/// or `direct`. No `EVCXR_` and no `</` inside (it sits in a `<script>` element of an
/// evcxr output).
const FRAME_JS: &str = "(function () {\
  var box = document.currentScript && document.currentScript.parentElement;\
  if (!box || !box.dataset.proxyPath) return;\
  box.dataset.liveVia = 'probing';\
  var base = null, cfg = document.getElementById('jupyter-config-data');\
  if (cfg) { try { base = JSON.parse(cfg.textContent).baseUrl; } catch (e) {} }\
  if (!base && document.body) base = document.body.getAttribute('data-base-url');\
  if (!base) { box.dataset.liveVia = 'direct'; return; }\
  if (base.charAt(base.length - 1) !== '/') base += '/';\
  var url = base + box.dataset.proxyPath;\
  fetch(url + 'live.js', {cache: 'no-store', credentials: 'same-origin'})\
    .then(function (r) { return r.ok ? r.text() : ''; })\
    .then(function (text) {\
      if (text.indexOf('// stream-demo live page') !== 0) throw new Error('no proxy');\
      var abs = new URL(url, location.href).href;\
      box.querySelector('iframe').src = abs;\
      var link = box.querySelector('a');\
      link.href = abs; link.textContent = abs;\
      box.dataset.liveVia = 'proxy';\
    })\
    .catch(function () { box.dataset.liveVia = 'direct'; });\
})();";

fn page(refresh: Duration, page_id: &str) -> String {
    let ms = refresh.as_millis().max(500);
    format!(
        r#"<!doctype html>
<html><head><meta charset="utf-8"><title>Trending hashtags (live)</title>
<style>body{{font-family:sans-serif;margin:8px}} td,th{{font-family:monospace}}</style>
<noscript><meta http-equiv="refresh" content="{secs}"></noscript>
</head><body data-refresh-ms="{ms}" data-page-id="{page_id}">
<h3>Trending hashtags <small id="clock" style="color:#888"></small></h3>
<div id="dashboard">Loading…</div>
<script src="live.js"></script>
</body></html>"#,
        secs = (ms / 1000).max(1),
        ms = ms
    )
}
