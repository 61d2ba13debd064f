//! A service on a runtime of its own, so a test can kill it outright.

use db::sea_orm::DatabaseConnection;

/// A service on its own runtime and thread: `kill` drops the runtime, which ends every task
/// of it, open keep-alive connections included (what a crashed process looks like to its
/// clients).
pub struct Killable {
    kill: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Killable {
    pub(super) fn ticket_service(
        settings: ticket_service::Settings,
        conn: DatabaseConnection,
    ) -> (u16, Self) {
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        let (kill, killed) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let app = ticket_service::Application::serve(settings, conn)
                    .await
                    .expect("ticket-service");
                port_tx.send(app.port()).expect("port");
                tokio::select! {
                    _ = app.run_until_stopped() => {}
                    _ = killed => {}
                }
            });
        });
        let port = port_rx.recv().expect("ticket-service started");
        (
            port,
            Self {
                kill: Some(kill),
                thread: Some(thread),
            },
        )
    }

    /// Stops the service and every connection it had open.
    pub fn kill(&mut self) {
        if let Some(kill) = self.kill.take() {
            let _ = kill.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
