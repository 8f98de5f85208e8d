//! Reloading the policies when their directory changes: a `notify` watcher
//! feeds a thread that waits for the changes to settle, then reloads. A set
//! that does not check is refused (its diagnostics on stderr) and the old
//! one keeps serving.

use std::sync::mpsc::{channel, RecvTimeoutError};
use std::sync::Arc;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};

use super::Server;

/// How long the directory must stay quiet before a reload: an editor or a
/// `git checkout` writes several files.
const SETTLE: Duration = Duration::from_millis(300);

/// Watches the live and shadow policy directories; the watcher stops when
/// the returned value is dropped.
pub fn watch(server: Arc<Server>) -> anyhow::Result<notify::RecommendedWatcher> {
    let (sender, receiver) = channel();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event {
            if !event.kind.is_access() {
                let _ = sender.send(());
            }
        }
    })?;
    watcher.watch(&server.policies, RecursiveMode::Recursive)?;
    if let Some(dir) = &server.shadow_dir {
        watcher.watch(dir, RecursiveMode::Recursive)?;
    }
    std::thread::Builder::new()
        .name(String::from("policy-watch"))
        .spawn(move || {
            while receiver.recv().is_ok() {
                // Wait for quiet.
                loop {
                    match receiver.recv_timeout(SETTLE) {
                        Ok(()) => continue,
                        Err(RecvTimeoutError::Timeout) => break,
                        Err(RecvTimeoutError::Disconnected) => return,
                    }
                }
                match server.reload() {
                    Ok(version) => eprintln!("qlp serve: policies changed; now serving version {version}"),
                    Err(diagnostics) => eprintln!(
                        "{diagnostics}\nqlp serve: the changed policies do not check; the previous version keeps serving"
                    ),
                }
            }
        })?;
    Ok(watcher)
}
