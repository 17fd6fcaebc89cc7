//! A throwaway PostgreSQL server for tests: `initdb` in a temporary folder, started
//! with `pg_ctl` on 127.0.0.1 on a free port (no Unix socket, trust authentication on
//! loopback only), stopped and removed on drop.
//!
//! The binaries are looked up in `$MAIA_PG_BIN`, then `PATH`, then Debian's
//! `/usr/lib/postgresql/*/bin`. PostgreSQL refuses to run as root: when the test runs
//! as root, the server runs as `nobody` (through `runuser`), its folder handed over
//! with `chown`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Why the server could not be started.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// initdb or pg_ctl is not installed.
    #[error(
        "PostgreSQL's {0} was not found (looked in $MAIA_PG_BIN, PATH and /usr/lib/postgresql/*/bin): \
         install the server, e.g. `apt-get install -y postgresql`"
    )]
    Missing(&'static str),
    /// A file system or process operation failed.
    #[error("{doing}")]
    Io {
        /// What was being done.
        doing: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A PostgreSQL command exited with an error.
    #[error("{command} failed: {output}")]
    Command {
        /// The command.
        command: String,
        /// Its standard error and output.
        output: String,
    },
}

/// A running PostgreSQL server; stopped and deleted on drop.
#[derive(Debug)]
pub struct PostgresServer {
    bin: PathBuf,
    data: PathBuf,
    // Kept for its Drop: removes the folder.
    _dir: tempfile::TempDir,
    port: u16,
    as_nobody: bool,
}

const USER: &str = "maia";

fn find(name: &'static str) -> Result<PathBuf, Error> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Some(d) = std::env::var_os("MAIA_PG_BIN") {
        dirs.push(d.into());
    }
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    if let Ok(entries) = std::fs::read_dir("/usr/lib/postgresql") {
        let mut versions: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .collect();
        // The newest version first.
        versions.sort();
        versions.reverse();
        dirs.extend(versions);
    }
    dirs.into_iter()
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .ok_or(Error::Missing(name))
}

fn io(doing: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
    let doing = doing.into();
    move |source| Error::Io { doing, source }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.trim_ascii() == b"0")
        .unwrap_or(false)
}

fn id_of(flag: &str) -> Result<u32, Error> {
    let out = Command::new("id")
        .args([flag, "nobody"])
        .output()
        .map_err(io("running id"))?;
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .map_err(|_| Error::Command {
            command: format!("id {flag} nobody"),
            output: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
}

impl PostgresServer {
    /// Creates and starts a server; waits until it accepts connections.
    pub fn start() -> Result<PostgresServer, Error> {
        // Through symbolic links (/usr/local/bin/initdb) to the folder with all the
        // server's programs (createdb too).
        let initdb = find("initdb")?;
        let initdb = std::fs::canonicalize(&initdb).unwrap_or(initdb);
        let bin = initdb.parent().map(Path::to_path_buf).unwrap_or_default();
        for program in ["pg_ctl", "createdb"] {
            if !bin.join(program).is_file() {
                return Err(Error::Missing(program));
            }
        }
        let dir = tempfile::Builder::new()
            .prefix("maia-pg-")
            .tempdir()
            .map_err(io("creating the PostgreSQL folder"))?;
        let data = dir.path().join("data");
        let as_nobody = is_root();
        if as_nobody {
            let (uid, gid) = (id_of("-u")?, id_of("-g")?);
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid))
                .map_err(io("handing the PostgreSQL folder to nobody"))?;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(io("finding a free port"))?
            .port();
        let server = PostgresServer {
            bin,
            data,
            _dir: dir,
            port,
            as_nobody,
        };
        let data = server.data.display().to_string();
        server.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                USER,
                "--auth=trust",
                "--encoding=UTF8",
                "--no-sync",
            ],
        )?;
        let log = server
            .data
            .with_file_name("server.log")
            .display()
            .to_string();
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories= -c fsync=off"
        );
        server.run(
            "pg_ctl",
            &["-D", &data, "-l", &log, "-o", &options, "-w", "start"],
        )?;
        Ok(server)
    }

    /// The loopback port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A URL for `database` (without password: trust authentication on loopback).
    pub fn url(&self, database: &str) -> String {
        format!("postgres://{USER}@127.0.0.1:{}/{database}", self.port)
    }

    /// Creates an empty database; returns its URL.
    pub fn create_database(&self, name: &str) -> Result<String, Error> {
        let port = self.port.to_string();
        self.run(
            "createdb",
            &["-h", "127.0.0.1", "-p", &port, "-U", USER, name],
        )?;
        Ok(self.url(name))
    }

    fn run(&self, program: &str, args: &[&str]) -> Result<Output, Error> {
        let path = self.bin.join(program);
        let mut command = if self.as_nobody {
            let mut c = Command::new("runuser");
            c.args(["-u", "nobody", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        // A readable working directory for nobody.
        command.args(args).current_dir("/");
        let out = command
            .output()
            .map_err(io(format!("running {}", path.display())))?;
        if out.status.success() {
            Ok(out)
        } else {
            Err(Error::Command {
                command: format!("{program} {}", args.join(" ")),
                output: format!(
                    "{}{}",
                    String::from_utf8_lossy(&out.stderr),
                    String::from_utf8_lossy(&out.stdout)
                ),
            })
        }
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        let data = self.data.display().to_string();
        // Nothing to do about a failure here but leave the folder behind.
        let _ = self.run("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"]);
    }
}
