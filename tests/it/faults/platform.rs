//! The processes under test, by name, each started with compose's command and environment and
//! its log appended to a file of its own; `kill` is `kill -9`.

use crate::compose::{Local, Proc, Service};
use crate::support::free_port;
use std::collections::BTreeMap;

pub struct Processes {
    pub local: Local,
    pub compose: BTreeMap<String, Service>,
    pub extra: Vec<(String, String)>,
    pub logs: std::path::PathBuf,
    /// By name: `ticket-service`, `notify-service`, `notify-service-2`, `export-service`,
    /// `api-gateway`.
    pub procs: BTreeMap<&'static str, Proc>,
}

impl Processes {
    pub fn spawn(&mut self, name: &'static str) {
        let service = name.trim_end_matches("-2");
        let port = *self
            .local
            .ports
            .entry(name.to_string())
            .or_insert_with(free_port);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.logs.join(format!("{name}.log")))
            .unwrap();
        let child = self
            .local
            .command(&self.compose, service, port, &self.extra)
            .stderr(log)
            .spawn()
            .unwrap();
        self.procs.insert(name, Proc(child));
    }

    /// `kill -9`.
    pub fn kill(&mut self, name: &'static str) {
        if let Some(mut proc) = self.procs.remove(name) {
            let _ = proc.0.kill();
            let _ = proc.0.wait();
        }
    }

    pub fn gateway(&self) -> String {
        format!("http://127.0.0.1:{}", self.local.ports["api-gateway"])
    }
}
