//! CPU time spent, beside wall time: on a shared machine whose speed varies, wall-clock rates of two runs (or of two
//! steps of one run) can differ by more than the effect being measured, while the CPU time per resource of the same
//! work does not depend on how long the process waited for a core. Read from Linux's `/proc` (figures are `None`
//! elsewhere).

/// Clock ticks per second of `/proc/*/stat` times (`USER_HZ`: 100 on every Linux architecture KMCR runs on).
const TICKS_PER_SECOND: f64 = 100.0;

/// CPU seconds so far of this process (every thread: the server, the store, and the benchmark's own clients) and of
/// the local PostgreSQL server (its live processes, and those that have exited, through the postmaster's children
/// times); `postgres` is `None` when the store is not on PostgreSQL or no PostgreSQL process is visible.
#[derive(Clone, Copy, Debug)]
pub struct CpuSeconds {
    pub this_process: Option<f64>,
    pub postgres: Option<f64>,
}

impl CpuSeconds {
    /// Now; PostgreSQL's only when the store is on it (an idle server's few ticks would read as KMCR's cost).
    pub fn now(on_postgres: bool) -> CpuSeconds {
        CpuSeconds {
            this_process: process_times("self").map(|times| times.own),
            postgres: if on_postgres { postgres_seconds() } else { None },
        }
    }

    /// What was spent since `earlier`, per 1,000 resources, as text for a report line.
    pub fn per_thousand_since(&self, earlier: &CpuSeconds, n_resources: usize) -> String {
        let per_thousand =
            |now: Option<f64>, then: Option<f64>| Some((now? - then?) * 1_000.0 / n_resources.max(1) as f64 * 1_000.0);
        let mut parts = Vec::new();
        if let Some(ms) = per_thousand(self.this_process, earlier.this_process) {
            parts.push(format!("this process {ms:.0} ms"));
        }
        if let Some(ms) = per_thousand(self.postgres, earlier.postgres) {
            parts.push(format!("PostgreSQL {ms:.0} ms"));
        }
        if parts.is_empty() {
            return "CPU time not available".into();
        }
        format!("CPU per 1,000 resources: {}", parts.join(", "))
    }
}

struct ProcessTimes {
    /// utime + stime of the process itself.
    own: f64,
    /// cutime + cstime: its children that have exited and been waited for.
    children: f64,
}

fn process_times(pid: &str) -> Option<ProcessTimes> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces: fields are counted after its closing parenthesis.
    let fields: Vec<&str> = stat.get(stat.rfind(')')? + 2..)?.split_whitespace().collect();
    // After the name: state is field 3 of stat(5), so field n is at index n - 3.
    let field = |n: usize| fields.get(n - 3).and_then(|value| value.parse::<f64>().ok());
    Some(ProcessTimes {
        own: (field(14)? + field(15)?) / TICKS_PER_SECOND,
        children: (field(16)? + field(17)?) / TICKS_PER_SECOND,
    })
}

fn command_name(pid: &str) -> Option<String> {
    Some(std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?.trim().to_string())
}

/// Every live `postgres` process's own time, plus its children's that have exited (the postmaster reaps backends and
/// autovacuum workers, so their time lands there).
fn postgres_seconds() -> Option<f64> {
    let mut total = None;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().filter(|pid| pid.bytes().all(|byte| byte.is_ascii_digit())) else { continue };
        if command_name(pid).as_deref() != Some("postgres") {
            continue;
        }
        if let Some(times) = process_times(pid) {
            *total.get_or_insert(0.0) += times.own + times.children;
        }
    }
    total
}
