//! Tests that open many sockets raise the open-file soft limit themselves,
//! or skip with a clear message when the hard limit does not allow it.

/// Raises the soft limit on open files to at least `need` if the hard limit
/// allows; returns whether `need` files may now be open. On `false` it has
/// printed why, so the caller can return (skip).
pub fn ensure_open_files(test: &str, need: u64) -> bool {
    match rlimit::getrlimit(rlimit::Resource::NOFILE) {
        Ok((soft, _)) if soft >= need => true,
        Ok((_, hard)) if hard >= need => {
            match rlimit::setrlimit(rlimit::Resource::NOFILE, need, hard) {
                Ok(()) => true,
                Err(e) => {
                    eprintln!("{test}: SKIPPED: needs {need} open files; raising the soft limit failed: {e}");
                    false
                }
            }
        }
        Ok((soft, hard)) => {
            eprintln!(
                "{test}: SKIPPED: needs {need} open files, the limits are {soft} (soft) / {hard} (hard); \
                 raise the hard limit (ulimit -Hn {need}) to run it"
            );
            false
        }
        Err(e) => {
            eprintln!("{test}: SKIPPED: cannot read the open-file limit: {e}");
            false
        }
    }
}
