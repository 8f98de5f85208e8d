//! `qlp serve`: the decision service. An HTTP JSON API over the runtime's
//! `Engine` (axum on tokio): decide one record or a batch, explain one,
//! health, readiness and Prometheus metrics, decision logs, a shadow policy
//! set, and policies reloaded when their directory changes (a set that does
//! not check is refused and the old one keeps serving). See docs/serve.md.

mod metrics;
mod watch;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path as UrlPath, Query, State as Shared};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use qlp_runtime::{Decision, Engine, PolicySet, Problem};
use serde_json::json;

use crate::decision_log::{DecisionIds, DecisionLog};
use metrics::Metrics;

#[derive(clap::Args)]
pub struct ServeArgs {
    /// The policy directory; reloaded when a file in it changes.
    #[arg(long, short = 'p')]
    pub policies: PathBuf,
    /// The address to listen on (`127.0.0.1:0` picks a free port; the
    /// address taken is printed on the first line of standard output).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// Evaluate each record at the time in this field of its own (a request
    /// may give `?now=`); without it, at the time the request arrives.
    #[arg(long, value_name = "FIELD")]
    pub now_from: Option<String>,
    /// A candidate policy set evaluated on every record in shadow: its
    /// decisions never change a verdict; every difference is logged and
    /// counted (`qlp_shadow_differences_total`).
    #[arg(long, value_name = "DIR")]
    pub shadow: Option<PathBuf>,
    /// Append every decision to this JSONL file (decision id, time, policy
    /// version, verdict, fired rules with evidence, shadow differences).
    #[arg(long, value_name = "FILE")]
    pub decision_log: Option<PathBuf>,
    /// Rotate the decision log past this size: the file becomes `FILE.1`.
    #[arg(long, value_name = "BYTES", default_value_t = 256 << 20, value_parser = clap::value_parser!(u64).range(4096..))]
    pub decision_log_max_bytes: u64,
    /// Where state is kept, as for `qlp eval --state`.
    #[arg(long, value_name = "STORE", default_value = "memory")]
    pub state: String,
    /// The largest request body; larger ones get 413.
    #[arg(long, value_name = "BYTES", default_value_t = 16 << 20, value_parser = clap::value_parser!(u64).range(1024..=(1 << 30)))]
    pub max_body_bytes: u64,
    /// Reject records with fields the schema does not declare (400)
    /// instead of warning about them in the response.
    #[arg(long)]
    pub strict: bool,
    /// Do not watch the policy directory (reload with `POST /admin/reload`).
    #[arg(long)]
    pub no_watch: bool,
}

/// What every handler shares.
pub struct Server {
    policies: PathBuf,
    shadow_dir: Option<PathBuf>,
    engine: Engine,
    shadow: Option<Engine>,
    now_from: Option<String>,
    strict: bool,
    metrics: Arc<Metrics>,
    log: Option<DecisionLog>,
    ids: DecisionIds,
    /// One reload at a time.
    reloading: Mutex<()>,
}

pub fn run(args: &ServeArgs) -> anyhow::Result<ExitCode> {
    let set = match load(&args.policies) {
        Ok(set) => set,
        Err(diagnostics) => {
            eprintln!("{diagnostics}");
            return Ok(ExitCode::from(1));
        }
    };
    let shadow = match &args.shadow {
        Some(dir) => match load(dir) {
            Ok(set) => Some(Engine::new(set)),
            Err(diagnostics) => {
                eprintln!("{diagnostics}");
                return Ok(ExitCode::from(1));
            }
        },
        None => None,
    };
    let metrics = Arc::new(Metrics::default());
    let log = match &args.decision_log {
        Some(path) => Some(DecisionLog::open(
            path,
            args.decision_log_max_bytes,
            metrics.log.clone(),
        )?),
        None => None,
    };
    let engine = Engine::new(set).with_state(qlp_runtime::State::open(&args.state)?);
    let server = Arc::new(Server {
        policies: args.policies.clone(),
        shadow_dir: args.shadow.clone(),
        engine,
        shadow,
        now_from: args.now_from.clone(),
        strict: args.strict,
        metrics,
        log,
        ids: DecisionIds::new(),
        reloading: Mutex::new(()),
    });
    server.note_versions();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(serve(server, args))
}

async fn serve(server: Arc<Server>, args: &ServeArgs) -> anyhow::Result<ExitCode> {
    let _watcher = if args.no_watch {
        None
    } else {
        Some(watch::watch(server.clone())?)
    };
    let app = Router::new()
        .route("/v1/decide/{record_type}", post(decide))
        .route("/v1/decide/{record_type}/batch", post(decide_batch))
        .route("/v1/explain/{record_type}", post(explain))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics_text))
        .route("/admin/reload", post(reload))
        .layer(DefaultBodyLimit::max(args.max_body_bytes as usize))
        .layer(axum::middleware::from_fn_with_state(server.clone(), count))
        .with_state(server.clone());
    // The handlers are installed before anyone is told where to connect: a
    // SIGTERM right after the first line must stop the server gracefully,
    // not kill it with the default action.
    let stop = shutdown()?;
    let listener = tokio::net::TcpListener::bind(args.addr).await?;
    let addr = listener.local_addr()?;
    // The first line of standard output: where to connect.
    println!("listening on http://{addr}");
    eprintln!(
        "qlp serve: policies `{}` version {}",
        server.policies.display(),
        server.engine.policies().version()
    );
    axum::serve(listener, app).with_graceful_shutdown(stop).await?;
    if let Some(log) = &server.log {
        log.flush();
    }
    eprintln!("qlp serve: stopped; in-flight requests were answered");
    Ok(ExitCode::SUCCESS)
}

/// A future that resolves on the first SIGINT or SIGTERM (axum then stops
/// accepting and finishes the requests in flight). Both handlers are
/// installed when this is called, not when the future is first polled.
fn shutdown() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}

/// Loads and compiles a policy directory, or renders why it cannot be.
/// Loads the set in `dir`, its evidence functions compiled before it
/// takes a request (~60M instructions for the shipped policies, paid at
/// start and on each reload instead of by the first firing of each rule).
fn load(dir: &Path) -> Result<PolicySet, String> {
    let workspace = crate::config::Workspace::open(&[dir.to_path_buf()], None).map_err(|e| format!("error: {e:#}"))?;
    let set = PolicySet::load_tree_for(&workspace.tree, dir, qlp_compiler::Engine::Jit).map_err(|error| {
        let mut text: String = error
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| crate::render::human(d, &error.sources))
            .collect::<Vec<_>>()
            .join("\n");
        text.push_str(&format!("\nerror: {}", error.message));
        text
    })?;
    set.compile_evidence_functions();
    Ok(set)
}

impl Server {
    fn note_versions(&self) {
        if let Ok(mut versions) = self.metrics.versions.lock() {
            *versions = (
                self.engine.policies().version().to_string(),
                self.shadow.as_ref().map(|s| s.policies().version().to_string()),
            );
        }
    }

    /// Reloads the live and shadow sets; on any error nothing changes.
    pub fn reload(&self) -> Result<String, String> {
        let _one = self.reloading.lock().map_err(|_| String::from("a reload failed"))?;
        let result = load(&self.policies).and_then(|live| {
            let shadow = self.shadow_dir.as_deref().map(load).transpose()?;
            Ok((live, shadow))
        });
        match result {
            Ok((live, shadow)) => {
                let version = live.version().to_string();
                self.engine.swap(live);
                if let (Some(engine), Some(set)) = (&self.shadow, shadow) {
                    engine.swap(set);
                }
                self.note_versions();
                self.metrics.reloads.fetch_add(1, Ordering::Relaxed);
                Ok(version)
            }
            Err(diagnostics) => {
                self.metrics.reload_failures.fetch_add(1, Ordering::Relaxed);
                Err(diagnostics)
            }
        }
    }

    /// Decides one record: ingested with the set current now, evaluated on
    /// that set alone (so each decision comes from one version), with the
    /// shadow set beside it.
    fn decide(&self, record_type: &str, json: &[u8], now: Option<i64>) -> Result<serde_json::Value, ApiError> {
        let set = self.engine.policies();
        let record = set
            .record_type(record_type)
            .ok_or_else(|| unknown_type(&set, record_type))?;
        let mut warnings = Vec::new();
        let row = set
            .ingest_checked(record, json, self.strict, &mut warnings)
            .map_err(|error| {
                self.metrics.rejected_records.fetch_add(1, Ordering::Relaxed);
                ApiError::invalid(error.problems, error.more)
            })?;
        let now = match (now, &self.now_from) {
            (Some(now), _) => now,
            (None, Some(field)) => match set.field(record, &row, field) {
                Some(qlp_compiler::Value::Time(t)) => t,
                _ => {
                    self.metrics.rejected_records.fetch_add(1, Ordering::Relaxed);
                    return Err(ApiError::invalid(
                        vec![Problem {
                            path: field.clone(),
                            message: String::from("is missing, so there is no time to evaluate at"),
                        }],
                        0,
                    ));
                }
            },
            (None, None) => qlp_runtime::Timestamp::now().micros(),
        };
        let mut context = set.context();
        let decision = set
            .decide_row(
                qlp_compiler::Engine::Jit,
                record,
                &row,
                now,
                self.engine.state(),
                &mut context,
            )
            .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, format!("the state store failed: {e}")))?;
        self.metrics.decision(&decision);
        let id = self.ids.next();
        let shadow = self.shadow_decision(record_type, json, now, &decision);
        let record_id = match set.field(record, &row, "id") {
            Some(qlp_compiler::Value::Str(id)) => Some(id.to_string()),
            _ => None,
        };
        if let Some(log) = &self.log {
            let entry = json!({
                "decision_id": id,
                "logged_at": qlp_grammar::time::format_time(qlp_runtime::Timestamp::now().micros()),
                "now": qlp_grammar::time::format_time(now),
                "policy_version": set.version(),
                "record_type": record_type,
                "id": record_id,
                "decision": &decision,
                "shadow": shadow,
            });
            log.write(entry.to_string());
        }
        let warnings: Vec<String> = warnings.iter().map(ToString::to_string).collect();
        Ok(json!({
            "decision_id": id,
            "policy_version": set.version(),
            "id": record_id,
            "decision": decision,
            "warnings": warnings,
        }))
    }

    /// The shadow set's decision on the same record at the same time, when
    /// it differs from the live one (`None` when it agrees or there is none).
    fn shadow_decision(&self, record_type: &str, json: &[u8], now: i64, live: &Decision) -> Option<serde_json::Value> {
        let shadow = self.shadow.as_ref()?;
        let set = shadow.policies();
        let decided = set.record_type(record_type).ok_or(()).and_then(|record| {
            let row = set.ingest(record, json).map_err(|_| ())?;
            let mut context = set.context();
            set.decide_row(
                qlp_compiler::Engine::Jit,
                record,
                &row,
                now,
                shadow.state(),
                &mut context,
            )
            .map_err(|_| ())
        });
        let Ok(candidate) = decided else {
            self.metrics.shadow_failures.fetch_add(1, Ordering::Relaxed);
            return Some(
                json!({"policy_version": set.version(), "error": "the shadow policies could not decide this record"}),
            );
        };
        let fired = |d: &Decision| d.fired.iter().map(|f| f.rule.clone()).collect::<Vec<_>>();
        if candidate.verdict == live.verdict && fired(&candidate) == fired(live) {
            return None;
        }
        self.metrics.shadow_differences.fetch_add(1, Ordering::Relaxed);
        Some(json!({
            "policy_version": set.version(),
            "verdict": candidate.verdict,
            "fired": fired(&candidate),
        }))
    }
}

fn unknown_type(set: &PolicySet, name: &str) -> ApiError {
    let names: Vec<&str> = set.program().records.iter().map(|r| r.name.as_str()).collect();
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!("no record type `{name}`; the policies declare {}", names.join(", ")),
    )
}

/// An error answer: a status and a JSON body `{"error": ..., "problems": [...]}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: serde_json::Value,
}

impl ApiError {
    fn new(status: StatusCode, message: String) -> ApiError {
        ApiError {
            status,
            body: json!({ "error": message }),
        }
    }

    fn invalid(problems: Vec<Problem>, more: usize) -> ApiError {
        let list: Vec<serde_json::Value> = problems
            .iter()
            .map(|p| json!({"path": p.path, "message": p.message}))
            .collect();
        ApiError {
            status: StatusCode::BAD_REQUEST,
            body: json!({
                "error": "the record does not fit the schema (or is not JSON)",
                "problems": list,
                "more_problems": more,
            }),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

#[derive(serde::Deserialize)]
struct Clock {
    now: Option<String>,
}

impl Clock {
    fn parse(&self, set: &PolicySet) -> Result<Option<i64>, ApiError> {
        self.now
            .as_deref()
            .map(|text| qlp_grammar::time::parse_time_in(text, &set.program().zone))
            .transpose()
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, format!("`now`: {e}")))
    }
}

/// Counts and times every request, whatever answers it (a 413 comes from
/// the body limit before any handler runs).
async fn count(
    Shared(server): Shared<Arc<Server>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let path = request.uri().path();
    let route = if path.starts_with("/v1/decide/") && path.ends_with("/batch") {
        "decide_batch"
    } else if path.starts_with("/v1/decide/") {
        "decide"
    } else if path.starts_with("/v1/explain/") {
        "explain"
    } else {
        match path {
            "/admin/reload" => "reload",
            "/metrics" => "metrics",
            "/healthz" => "healthz",
            "/readyz" => "readyz",
            _ => "other",
        }
    };
    let started = Instant::now();
    let response = next.run(request).await;
    server
        .metrics
        .request(route, response.status().as_u16(), started.elapsed());
    response
}

/// Runs `work` on the blocking pool (evaluation is CPU work).
async fn timed<F>(server: &Arc<Server>, work: F) -> Response
where
    F: FnOnce(&Server) -> Result<serde_json::Value, ApiError> + Send + 'static,
{
    let shared = server.clone();
    match tokio::task::spawn_blocking(move || work(&shared)).await {
        Ok(Ok(body)) => (StatusCode::OK, Json(body)).into_response(),
        Ok(Err(error)) => error.into_response(),
        Err(_) => {
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, String::from("the evaluation failed")).into_response()
        }
    }
}

async fn decide(
    Shared(server): Shared<Arc<Server>>,
    UrlPath(record_type): UrlPath<String>,
    Query(clock): Query<Clock>,
    body: Bytes,
) -> Response {
    timed(&server, move |server| {
        let now = clock.parse(&server.engine.policies())?;
        server.decide(&record_type, &body, now)
    })
    .await
}

/// The largest batch, in records.
const MAX_BATCH: usize = 10_000;

async fn decide_batch(
    Shared(server): Shared<Arc<Server>>,
    UrlPath(record_type): UrlPath<String>,
    Query(clock): Query<Clock>,
    body: Bytes,
) -> Response {
    timed(&server, move |server| {
        let now = clock.parse(&server.engine.policies())?;
        let lines: Vec<&[u8]> = body
            .split(|b| *b == b'\n')
            .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
            .collect();
        if lines.len() > MAX_BATCH {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "a batch holds at most {MAX_BATCH} records (JSON Lines), not {}",
                    lines.len()
                ),
            ));
        }
        let mut results = Vec::with_capacity(lines.len());
        for (index, line) in lines.iter().enumerate() {
            let result = match server.decide(&record_type, line, now) {
                Ok(mut decided) => {
                    if let Some(object) = decided.as_object_mut() {
                        object.insert(String::from("index"), json!(index));
                    }
                    decided
                }
                Err(error) if error.status == StatusCode::NOT_FOUND => return Err(error),
                Err(error) => {
                    let mut body = error.body;
                    if let Some(object) = body.as_object_mut() {
                        object.insert(String::from("index"), json!(index));
                    }
                    body
                }
            };
            results.push(result);
        }
        Ok(json!({ "results": results }))
    })
    .await
}

async fn explain(
    Shared(server): Shared<Arc<Server>>,
    UrlPath(record_type): UrlPath<String>,
    Query(clock): Query<Clock>,
    body: Bytes,
) -> Response {
    timed(&server, move |server| {
        let set = server.engine.policies();
        let now = clock.parse(&set)?;
        let record = set
            .record_type(&record_type)
            .ok_or_else(|| unknown_type(&set, &record_type))?;
        let row = set
            .ingest(record, &body)
            .map_err(|error| ApiError::invalid(error.problems, error.more))?;
        let now = match (now, &server.now_from) {
            (Some(now), _) => now,
            (None, Some(field)) => match set.field(record, &row, field) {
                Some(qlp_compiler::Value::Time(t)) => t,
                _ => qlp_runtime::Timestamp::now().micros(),
            },
            (None, None) => qlp_runtime::Timestamp::now().micros(),
        };
        let explained = crate::cmd::explain::explain(&set, record, &row, now, server.engine.state())
            .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, format!("{e:#}")))?;
        Ok(json!({ "policy_version": set.version(), "explanation": explained }))
    })
    .await
}

async fn ready(Shared(server): Shared<Arc<Server>>) -> Response {
    Json(json!({
        "ready": true,
        "policy_version": server.engine.policies().version(),
        "shadow_version": server.shadow.as_ref().map(|s| s.policies().version().to_string()),
    }))
    .into_response()
}

async fn metrics_text(Shared(server): Shared<Arc<Server>>) -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        server.metrics.render(),
    )
        .into_response()
}

async fn reload(Shared(server): Shared<Arc<Server>>) -> Response {
    let shared = server.clone();
    let result = tokio::task::spawn_blocking(move || shared.reload()).await;
    let response = match result {
        Ok(Ok(version)) => (StatusCode::OK, Json(json!({ "policy_version": version }))).into_response(),
        Ok(Err(diagnostics)) => ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            body: json!({
                "error": "the policies do not check; the current set keeps serving",
                "policy_version": server.engine.policies().version(),
                "diagnostics": diagnostics,
            }),
        }
        .into_response(),
        Err(_) => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, String::from("the reload failed")).into_response(),
    };
    response
}
