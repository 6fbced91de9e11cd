//! A real nginx for tests and benchmarks: a private prefix in a temp dir,
//! listening on free 127.0.0.1 ports, with backends that are nginx `return`
//! blocks answering with their colour. Stopped on drop.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Every child process gets at most this long.
pub const CHILD_TIMEOUT: Duration = Duration::from_secs(60);

pub fn nginx_bin() -> Option<PathBuf> {
    let sbin = PathBuf::from("/usr/sbin/nginx");
    if sbin.exists() {
        return Some(sbin);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("nginx"))
            .find(|p| p.exists())
    })
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `n` distinct free ports. Each listener is held until all are chosen:
/// ports taken one at a time may come back the same twice, and nginx then
/// refuses the duplicate upstream ("conflicting parameter").
pub fn distinct_ports(n: usize) -> Vec<u16> {
    let held: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    held.iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect()
}

/// Runs a command to its end within `timeout`: (exit code, stdout, stderr).
pub fn run(cmd: &mut Command, timeout: Duration) -> (i32, String, String) {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(timeout) {
        Ok(Ok(o)) => (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        ),
        Ok(Err(e)) => panic!("{cmd:?}: {e}"),
        Err(_) => {
            // The child is not reaped yet (its thread still waits).
            if let Some(pid) = rustix::process::Pid::from_raw(pid as i32) {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            }
            panic!("{cmd:?} did not finish within {timeout:?}");
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Weighted,
    Sticky,
}

pub struct TestNginx {
    pub dir: tempfile::TempDir,
    pub bin: PathBuf,
    pub port: u16,
    pub blue: Vec<u16>,
    pub green: u16,
    pub include: PathBuf,
    pub conf: PathBuf,
    pub mode: Mode,
}

impl TestNginx {
    /// Starts nginx with `include` as the include's first content (written
    /// by `include(blue_ports, green_port)`).
    pub fn start(mode: Mode, include: impl FnOnce(&[u16], u16) -> String) -> TestNginx {
        let bin = nginx_bin().expect("nginx installed");
        let dir = tempfile::tempdir().unwrap();
        let p = distinct_ports(4);
        let (port, blue, green) = (p[0], vec![p[1], p[2]], p[3]);
        let inc = dir.path().join("cutover").join("chat-model.conf");
        std::fs::create_dir_all(inc.parent().unwrap()).unwrap();
        std::fs::write(&inc, include(&blue, green)).unwrap();
        let conf = dir.path().join("nginx.conf");
        let n = TestNginx {
            dir,
            bin,
            port,
            blue,
            green,
            include: inc,
            conf,
            mode,
        };
        std::fs::write(&n.conf, n.main_config(true)).unwrap();
        let (code, out, err) = run(n.cmd(&[]).as_mut(), CHILD_TIMEOUT);
        assert_eq!(code, 0, "nginx did not start: {out}{err}");
        let t0 = Instant::now();
        while TcpStream::connect(("127.0.0.1", n.port)).is_err() {
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "nginx not listening"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        n
    }

    /// Stops the master (`nginx -s stop`) and waits until it is gone.
    pub fn stop(&self) {
        let master = self.master_pid();
        let (code, out, err) = run(self.cmd(&["-s", "stop"]).as_mut(), CHILD_TIMEOUT);
        assert_eq!(code, 0, "nginx -s stop: {out}{err}");
        let t0 = Instant::now();
        while master.is_some_and(alive) || TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
            assert!(t0.elapsed() < Duration::from_secs(10), "nginx did not stop");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Starts the master again on the same prefix and config.
    pub fn start_again(&self) {
        let (code, out, err) = run(self.cmd(&[]).as_mut(), CHILD_TIMEOUT);
        assert_eq!(code, 0, "nginx did not start: {out}{err}");
        let t0 = Instant::now();
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "nginx not listening"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The main config; `wired` false leaves the include out.
    pub fn main_config(&self, wired: bool) -> String {
        let d = self.dir.path().display();
        let root = rustix::process::geteuid().is_root();
        let user = if root { "user root;\n" } else { "" };
        let include = if wired {
            format!("include {};", self.include.display())
        } else {
            String::new()
        };
        let target = match self.mode {
            Mode::Weighted => "http://chat_model",
            Mode::Sticky => "http://$chat_model",
        };
        let mut map = String::new();
        for p in &self.blue {
            map.push_str(&format!("        127.0.0.1:{p} blue;\n"));
        }
        map.push_str(&format!("        127.0.0.1:{} green;\n", self.green));
        let mut backends = String::new();
        for (p, c) in self
            .blue
            .iter()
            .map(|p| (p, "blue"))
            .chain([(&self.green, "green")])
        {
            backends.push_str(&format!(
                "    server {{ listen 127.0.0.1:{p}; location / {{ return 200 \"{c}\\n\"; }} }}\n"
            ));
        }
        format!(
            "{user}worker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
             events {{ worker_connections 1024; }}\n\
             http {{\n    access_log off;\n\
             client_body_temp_path {d}/client_body;\n    proxy_temp_path {d}/proxy;\n\
             fastcgi_temp_path {d}/fastcgi;\n    uwsgi_temp_path {d}/uwsgi;\n    scgi_temp_path {d}/scgi;\n\
             {include}\n    include {d}/extra.conf*;\n\
             map $upstream_addr $served_by {{\n        default \"\";\n{map}    }}\n\
             server {{\n        listen 127.0.0.1:{port};\n\
                 location = /metrics {{ return 200 \"requests_total{{code=\\\"200\\\"}} 1\\nrequest_duration_seconds_bucket{{le=\\\"+Inf\\\"}} 1\\nmodel_quality_score 0.9\\n\"; }}\n\
                 location / {{ proxy_pass {target}; add_header X-Served-By $served_by always; }}\n    }}\n\
             {backends}}}\n",
            port = self.port
        )
    }

    /// `nginx -p DIR -e DIR/error.log -c DIR/nginx.conf` plus `args`.
    pub fn argv(&self, args: &[&str]) -> Vec<String> {
        let mut v = vec![
            self.bin.display().to_string(),
            "-p".into(),
            format!("{}/", self.dir.path().display()),
            "-e".into(),
            self.path("error.log").display().to_string(),
            "-c".into(),
            self.conf.display().to_string(),
        ];
        v.extend(args.iter().map(|s| s.to_string()));
        v
    }

    fn cmd(&self, args: &[&str]) -> Box<Command> {
        let v = self.argv(args);
        let mut c = Command::new(&v[0]);
        c.args(&v[1..]);
        Box::new(c)
    }

    pub fn test_command(&self) -> Vec<String> {
        self.argv(&["-t", "-q"])
    }

    pub fn reload_command(&self) -> Vec<String> {
        self.argv(&["-s", "reload"])
    }

    pub fn server_entries(&self) -> (Vec<String>, Vec<String>) {
        (
            vec![
                format!("127.0.0.1:{}", self.blue[0]),
                format!("127.0.0.1:{} max_fails=3 fail_timeout=10s", self.blue[1]),
            ],
            vec![format!("127.0.0.1:{}", self.green)],
        )
    }

    /// A cutover config for this nginx; `extra` goes into [router.nginx].
    pub fn cutover_config(&self, extra: &str) -> PathBuf {
        let toml_list = |v: &[String]| {
            let items: Vec<String> = v.iter().map(|s| format!("{s:?}")).collect();
            format!("[{}]", items.join(", "))
        };
        let (blue, green) = self.server_entries();
        let metrics = |c: &str| format!("[\"http://127.0.0.1:{}/metrics?colour={c}\"]", self.port);
        let mode = match self.mode {
            Mode::Weighted => "mode = \"weighted\"".to_string(),
            Mode::Sticky => "mode = \"sticky\"\nsticky_key = \"$cookie_user\"".to_string(),
        };
        let has = |k: &str| extra.lines().any(|l| l.starts_with(k));
        let mut nginx = format!(
            "include = {:?}\nupstream = \"chat_model\"\nblue = {}\ngreen = {}\n{mode}\nprobe_url = \"http://127.0.0.1:{}/\"\n",
            self.include.display().to_string(),
            toml_list(&blue),
            toml_list(&green),
            self.port
        );
        if !has("test_command") {
            nginx.push_str(&format!(
                "test_command = {}\n",
                toml_list(&self.test_command())
            ));
        }
        if !has("reload_command") {
            nginx.push_str(&format!(
                "reload_command = {}\n",
                toml_list(&self.reload_command())
            ));
        }
        nginx.push_str(extra);
        let text = format!(
            "[service]\nname = \"nginx-test\"\n\
             [source]\nkind = \"scrape\"\ninterval = \"200ms\"\ntimeout = \"150ms\"\nwindow = \"1s\"\n\
             [source.scrape]\nblue = {}\ngreen = {}\n\
             [router]\nkind = \"nginx\"\n[router.nginx]\n{nginx}\n\
             [journal]\npath = {:?}\n",
            metrics("blue"),
            metrics("green"),
            self.path("journal.jsonl").display().to_string()
        );
        let p = self.path(&format!("cutover-{}.toml", free_port()));
        std::fs::write(&p, text).unwrap();
        p
    }

    /// One request on a new connection; the colour that answered.
    pub fn request(&self, user: Option<&str>) -> Option<&'static str> {
        request(self.port, user)
    }

    /// A plain request function for another thread.
    pub fn request_fn(port: u16) -> impl Fn() -> Option<&'static str> + Send + 'static {
        move || request(port, None)
    }
    /// (blue, green, failed) over `n` requests.
    pub fn count(&self, n: u32) -> (u32, u32, u32) {
        let mut c = (0, 0, 0);
        for _ in 0..n {
            match self.request(None) {
                Some("blue") => c.0 += 1,
                Some(_) => c.1 += 1,
                None => c.2 += 1,
            }
        }
        c
    }

    pub fn master_pid(&self) -> Option<i32> {
        std::fs::read_to_string(self.path("nginx.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// The master's worker processes now.
    pub fn workers(&self) -> Vec<i32> {
        let Some(master) = self.master_pid() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
                continue;
            };
            // ppid is the second field after the parenthesised name.
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|p| p.parse::<i32>().ok());
            if ppid == Some(master) {
                out.push(pid);
            }
        }
        out
    }

    /// Waits until nginx serves the include as it is now: every worker
    /// started after the include's last write (a reload is a signal the
    /// master handles a moment later) and none of an earlier reload is
    /// still shutting down (those answer beside the new ones for about
    /// 100 ms, longer on a busy machine).
    pub fn quiesce(&self) {
        let t0 = Instant::now();
        let written = std::fs::metadata(&self.include)
            .and_then(|m| m.modified())
            .expect("the include's mtime");
        let current = |pid: &i32| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let started = started_at(*pid);
            !String::from_utf8_lossy(&cmdline).contains("shutting down")
                // Start times are good to a clock tick (10 ms) each way.
                && started.is_some_and(|t| t + Duration::from_millis(20) >= written)
        };
        loop {
            let workers = self.workers();
            if !workers.is_empty() && workers.iter().all(current) {
                return;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "nginx still serves an earlier include"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits until none of `before` (workers before a reload) is left.
    pub fn settle(&self, before: &[i32]) {
        let t0 = Instant::now();
        loop {
            let now = self.workers();
            if !now.is_empty() && now.iter().all(|p| !before.contains(p)) {
                return;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "old nginx workers still running"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for TestNginx {
    fn drop(&mut self) {
        let master = self.master_pid();
        let v = self.argv(&["-s", "stop"]);
        let mut c = Command::new(&v[0]);
        c.args(&v[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Ok(mut child) = c.spawn() {
            let t0 = Instant::now();
            while t0.elapsed() < Duration::from_secs(5) {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(pid) = master {
            let t0 = Instant::now();
            while alive(pid) {
                if t0.elapsed() > Duration::from_secs(3) {
                    // SIGKILL ends our own nginx.
                    if let Some(pid) = rustix::process::Pid::from_raw(pid) {
                        let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
                    }
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
}

/// Whether `pid` runs; a zombie (no reaper in a container) counts as gone.
pub fn alive(pid: i32) -> bool {
    let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.rsplit_once(')')
                .is_some_and(|(_, r)| r.trim_start().starts_with('Z'))
        })
        .unwrap_or(true);
    // kill(pid, 0) only probes.
    let running = rustix::process::Pid::from_raw(pid)
        .is_some_and(|p| rustix::process::test_kill_process(p).is_ok());
    running && !zombie
}

/// One request to 127.0.0.1:`port` on a new connection; the colour that
/// answered (`None` on failure).
pub fn request(port: u16, user: Option<&str>) -> Option<&'static str> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    let cookie = user
        .map(|u| format!("Cookie: user={u}\r\n"))
        .unwrap_or_default();
    s.write_all(format!("GET / HTTP/1.0\r\nHost: t\r\n{cookie}\r\n").as_bytes())
        .ok()?;
    let mut r = String::new();
    s.read_to_string(&mut r).ok()?;
    if !r.starts_with("HTTP/1.1 200") {
        return None;
    }
    let served = r
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("x-served-by:")
                .map(|v| v.trim().to_string())
        })
        .unwrap_or_default();
    match served.as_str() {
        "blue" => Some("blue"),
        "green" => Some("green"),
        _ => None,
    }
}

/// When process `pid` started: its start time in clock ticks since boot
/// (`/proc/<pid>/stat`) after the boot, which is now less the uptime
/// (`/proc/uptime`, to 10 ms; `btime` in `/proc/stat` is whole seconds).
fn started_at(pid: i32) -> Option<std::time::SystemTime> {
    // USER_HZ is 100 on every Linux this runs on.
    const TICKS_PER_SECOND: u64 = 100;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // starttime is the 22nd field; the 20th after the parenthesised name.
    let ticks: u64 = stat
        .rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(19)?
        .parse()
        .ok()?;
    let uptime: f64 = std::fs::read_to_string("/proc/uptime")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    let boot = std::time::SystemTime::now() - Duration::from_secs_f64(uptime);
    Some(boot + Duration::from_millis(ticks * 1000 / TICKS_PER_SECOND))
}
