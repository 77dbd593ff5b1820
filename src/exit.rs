//! Exit codes, documented once (the README copies this table).

/// How a run ended. The numbers are a contract with scripts: never renumber.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: the command did its job (for `inspect`: the dump parsed without errors).
    Ok,
    /// 1: the command ran, but what was asked for is not in the dump (e.g. no such nodePort).
    NotFound,
    /// 2: the command line was wrong (unknown flag, bad value).
    Usage,
    /// 3: the input could not be read or had parse errors.
    InputError,
    /// 4: writing the output failed (other than a closed pipe, which exits quietly with 0).
    OutputError,
    /// 5: `check`: an expectation did not hold (a verdict differs, a class or the nodePort
    /// is missing).
    ExpectationFailed,
    /// 6: the dump is from a proxy mode srcip-rules cannot analyse (kube-proxy's IPVS,
    /// nftables or userspace mode, or no kube-proxy: an eBPF replacement such as Cilium's),
    /// so the target's fate is not in these rules, and nothing was answered from it
    /// (`explain`, `graph`, `ports`, `check`, `diff`; `trace` when it had no rule to walk).
    UnsupportedMode,
}

impl Exit {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::NotFound => 1,
            Exit::Usage => 2,
            Exit::InputError => 3,
            Exit::OutputError => 4,
            Exit::ExpectationFailed => 5,
            Exit::UnsupportedMode => 6,
        }
    }
}

impl From<Exit> for u8 {
    fn from(exit: Exit) -> u8 {
        exit.code()
    }
}
