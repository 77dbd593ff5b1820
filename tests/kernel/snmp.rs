//! A namespace's IP, ICMP and TCP counters (`/proc/net/snmp`): what the kernel did with the
//! packets of a connection that no backend saw (routed on, rejected, looped until the TTL ran
//! out, refused by the host's own TCP stack).

use std::path::Path;

use crate::netns;

/// The counters a probe reads before and after it runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub(crate) struct IpCounters {
    /// `Ip: ForwDatagrams`: packets this host tried to route on. Linux 6.3 and later count
    /// them before filter FORWARD, so a packet dropped there is counted too.
    pub(crate) forward_attempts: u64,
    /// `Ip: OutTransmits` (Linux 6.3 and later; `None` before): IP packets this host sent
    /// out, forwarded or its own, counted after filter OUTPUT/FORWARD let them through (a
    /// packet dropped there is not counted).
    pub(crate) transmitted: Option<u64>,
    /// `Icmp: OutTimeExcds`: ICMP time-exceeded messages it sent (a packet's TTL ran out
    /// here, e.g. at the end of a routing loop).
    pub(crate) time_exceeded_sent: u64,
    /// `Icmp: OutDestUnreachs`: ICMP destination-unreachable messages it sent (a REJECT
    /// answers with port-unreachable).
    pub(crate) unreachable_sent: u64,
    /// `Tcp: OutRsts`: resets its own TCP stack sent (a SYN delivered to a port where nothing
    /// listens). An iptables `REJECT --reject-with tcp-reset` builds its reset outside the
    /// TCP stack and is not counted here.
    pub(crate) resets_sent: u64,
}

impl IpCounters {
    /// IP packets sent out beyond the host's own answers to a connection it refused (ICMP
    /// errors, TCP resets): forwarded ones, or its own connections' packets; `None` where the
    /// kernel does not count what it sends.
    pub(crate) fn sent_beyond_own_errors(self) -> Option<u64> {
        self.transmitted.map(|sent| {
            sent.saturating_sub(self.unreachable_sent + self.time_exceeded_sent + self.resets_sent)
        })
    }

    /// What happened between `before` and `self`.
    pub(crate) fn since(self, before: IpCounters) -> IpCounters {
        IpCounters {
            forward_attempts: self
                .forward_attempts
                .saturating_sub(before.forward_attempts),
            transmitted: self
                .transmitted
                .zip(before.transmitted)
                .map(|(after, before)| after.saturating_sub(before)),
            time_exceeded_sent: self
                .time_exceeded_sent
                .saturating_sub(before.time_exceeded_sent),
            unreachable_sent: self
                .unreachable_sent
                .saturating_sub(before.unreachable_sent),
            resets_sent: self.resets_sent.saturating_sub(before.resets_sent),
        }
    }
}

/// Reads the counters of the namespace. `/proc/thread-self/net` is the reading thread's
/// network namespace (`/proc/self/net` would be the main thread's, the root namespace).
pub(crate) fn read(namespace: &str) -> Result<IpCounters, String> {
    let text = netns::in_namespace(namespace, || {
        std::fs::read_to_string(Path::new("/proc/thread-self/net/snmp"))
            .map_err(|error| format!("/proc/thread-self/net/snmp: {error}"))
    })??;
    parse(&text).map_err(|error| format!("{namespace}: {error}"))
}

/// Parses the header/value line pairs of `/proc/net/snmp` (`Ip: Forwarding … ForwDatagrams
/// …` then `Ip: 1 … 37 …`; the same for `Icmp:` and `Tcp:`).
fn parse(text: &str) -> Result<IpCounters, String> {
    let lines: Vec<&str> = text.lines().collect();
    let value = |group: &str, name: &str| -> Result<Option<u64>, String> {
        let prefix = format!("{group}:");
        let mut pairs = lines.iter().filter(|line| line.starts_with(&prefix));
        let (Some(header), Some(values)) = (pairs.next(), pairs.next()) else {
            return Err(format!("no {group} lines"));
        };
        let Some(position) = header.split_whitespace().position(|word| word == name) else {
            return Ok(None);
        };
        values
            .split_whitespace()
            .nth(position)
            .and_then(|word| word.parse().ok())
            .map(Some)
            .ok_or_else(|| format!("no {group} {name} value"))
    };
    let required = |group: &str, name: &str| -> Result<u64, String> {
        value(group, name)?.ok_or_else(|| format!("no {group} {name} column"))
    };
    Ok(IpCounters {
        forward_attempts: required("Ip", "ForwDatagrams")?,
        transmitted: value("Ip", "OutTransmits")?,
        time_exceeded_sent: required("Icmp", "OutTimeExcds")?,
        unreachable_sent: required("Icmp", "OutDestUnreachs")?,
        resets_sent: required("Tcp", "OutRsts")?,
    })
}

#[cfg(test)]
mod tests {
    use super::{IpCounters, parse};

    #[test]
    fn counters_are_read_by_column_name() {
        let text = "Ip: Forwarding DefaultTTL InReceives ForwDatagrams OutRequests OutTransmits\n\
                    Ip: 1 64 120 37 90 101\n\
                    Icmp: InMsgs OutMsgs OutDestUnreachs OutTimeExcds\n\
                    Icmp: 3 20 12 8\n\
                    IcmpMsg: OutType3 OutType11\n\
                    IcmpMsg: 12 8\n\
                    Tcp: RtoAlgorithm ActiveOpens OutRsts InCsumErrors\n\
                    Tcp: 1 4 5 0\n";
        assert_eq!(
            parse(text),
            Ok(IpCounters {
                forward_attempts: 37,
                transmitted: Some(101),
                time_exceeded_sent: 8,
                unreachable_sent: 12,
                resets_sent: 5,
            })
        );
        // Before Linux 6.3 there is no OutTransmits column.
        let old = text.replace(" OutTransmits", "").replace(" 101", "");
        assert_eq!(parse(&old).map(|c| c.transmitted), Ok(None));
        assert!(parse("Ip: Forwarding\nIp: 1\n").is_err());
    }

    #[test]
    fn differences_never_go_below_zero() {
        let before = IpCounters {
            forward_attempts: 5,
            transmitted: Some(7),
            time_exceeded_sent: 1,
            unreachable_sent: 0,
            resets_sent: 3,
        };
        let after = IpCounters {
            forward_attempts: 9,
            transmitted: Some(10),
            time_exceeded_sent: 1,
            unreachable_sent: 2,
            resets_sent: 4,
        };
        assert_eq!(
            after.since(before),
            IpCounters {
                forward_attempts: 4,
                transmitted: Some(3),
                time_exceeded_sent: 0,
                unreachable_sent: 2,
                resets_sent: 1,
            }
        );
        assert_eq!(before.since(after).forward_attempts, 0);
        let unknown = IpCounters {
            transmitted: None,
            ..after
        };
        assert_eq!(unknown.since(before).transmitted, None);
    }
}
