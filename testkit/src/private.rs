//! A Redis server and a PostgreSQL cluster of a test's own, on free ports, that the test may
//! kill, stop and start again (the fault tests). Both keep their data across a restart: Redis
//! writes an append-only file synced on every write, PostgreSQL is a normal cluster. Each is
//! stopped and its folder removed when dropped.

use std::{
    io::{Read, Write},
    net::TcpStream,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn fresh_dir(label: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("tessera-{label}-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn missing(what: &str) -> Option<std::convert::Infallible> {
    if std::env::var_os("CI").is_some() {
        panic!("{what} is required in CI");
    }
    eprintln!("\n!!! SKIPPED: {what} is not installed !!!\n");
    None
}

/// A Redis server of the test's own.
#[derive(Debug)]
pub struct PrivateRedis {
    /// Where it listens (127.0.0.1).
    pub port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl PrivateRedis {
    /// Starts one, or `None` (loudly; a failure in CI) without `redis-server`.
    pub fn start() -> Option<Self> {
        if Command::new("redis-server")
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_err()
        {
            missing("redis-server")?;
        }
        let mut redis = Self {
            port: free_port(),
            dir: fresh_dir("redis"),
            child: None,
        };
        redis.start_again();
        Some(redis)
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills it (SIGKILL): connections drop, nothing is answered until `start_again`.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port and data, and waits until it answers.
    pub fn start_again(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args([
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
            ])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.answers() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn answers(&self) -> bool {
        let Ok(mut tcp) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = tcp.set_read_timeout(Some(Duration::from_secs(1)));
        let mut answer = [0u8; 5];
        tcp.write_all(b"PING\r\n").is_ok()
            && tcp.read_exact(&mut answer).is_ok()
            && &answer == b"+PONG"
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A PostgreSQL cluster of the test's own (trust authentication, user `postgres`). As root
/// its programs run as the `postgres` user, which PostgreSQL requires.
#[derive(Debug)]
pub struct PrivatePostgres {
    /// Where it listens (127.0.0.1).
    pub port: u16,
    dir: PathBuf,
    bin: PathBuf,
    running: bool,
}

impl PrivatePostgres {
    /// Initializes and starts one, or `None` (loudly; a failure in CI) without PostgreSQL's
    /// server programs (`/usr/lib/postgresql/<version>/bin`).
    pub fn start() -> Option<Self> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .map(|e| e.path().join("bin"))
            .filter(|bin| bin.join("initdb").exists())
            .max_by_key(|bin| {
                bin.parent()
                    .and_then(Path::file_name)
                    .and_then(|v| v.to_str())
                    .and_then(|v| v.parse::<u32>().ok())
                    .unwrap_or(0)
            });
        let Some(bin) = bin else {
            missing("PostgreSQL's server (initdb)")?;
            return None;
        };
        let dir = fresh_dir("postgres");
        let pg = Self {
            port: free_port(),
            dir,
            bin,
            running: false,
        };
        if Self::as_root() {
            let chowned = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&pg.dir)
                .status()
                .unwrap();
            assert!(chowned.success(), "chown to postgres failed");
        }
        let initdb = pg
            .run("initdb")
            .arg("-D")
            .arg(pg.dir.join("data"))
            .args(["-U", "postgres", "--auth=trust", "--no-sync"])
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(initdb.success(), "initdb failed");
        let mut pg = pg;
        pg.start_again();
        Some(pg)
    }

    fn as_root() -> bool {
        Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
    }

    fn run(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if Self::as_root() {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(path);
            command
        } else {
            Command::new(path)
        }
    }

    /// `postgres://postgres@127.0.0.1:<port>`: add `/<database>`.
    pub fn base_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}", self.port)
    }

    /// Stops it at once (`pg_ctl stop -m immediate`, like a crash): connections drop and new
    /// ones are refused until `start_again`.
    pub fn stop(&mut self) {
        if self.running {
            let _ = self
                .run("pg_ctl")
                .arg("-D")
                .arg(self.dir.join("data"))
                .args(["-m", "immediate", "-w", "stop"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            self.running = false;
        }
    }

    /// Starts it again and waits until it accepts connections.
    pub fn start_again(&mut self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
            self.port,
            self.dir.display()
        );
        let started = self
            .run("pg_ctl")
            .arg("-D")
            .arg(self.dir.join("data"))
            .arg("-o")
            .arg(options)
            .arg("-l")
            .arg(self.dir.join("log"))
            .args(["-w", "-t", "60", "start"])
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(started.success(), "pg_ctl start failed");
        self.running = true;
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
