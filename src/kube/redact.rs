//! `--redact`: a dump's text with its addresses, service names and chain hashes replaced
//! by stand-ins, so that a report can go into a public ticket and still be understood.
//!
//! # Where it happens, and why there
//!
//! On the input text, before parsing (`cli::input` hands every input through it): every
//! command then reads, analyses and prints only stand-ins, line and column numbers stay
//! those of the (redacted) dump, and no renderer needs to know. What the user types about
//! the dump (`--src`, `--dst`, `--node-ip`, an `IP:PORT` or `ns/name` target) goes through
//! the same mapping ([`Redactor::address`], [`Redactor::target`]), so it still names what
//! it named.
//!
//! # What is replaced
//!
//! - **Addresses** (IPv4 and IPv6, alone, with a `/prefix`, `:port` or `[v6]:port`),
//!   anywhere in the text, by a *prefix-preserving* permutation: two addresses that share
//!   their first `n` bits get stand-ins that share their first `n` bits, so a prefix's
//!   stand-in contains exactly the stand-ins of the addresses it contains, and every rule
//!   tests the same packets as before. The permutation is a binary tree of keyed coin
//!   flips (as in Crypto-PAn): bit `i` of the stand-in is bit `i` of the address, flipped
//!   when a keyed hash of the first `i` bits says so. Special ranges are kept: no flip is
//!   made at a node of the tree that contains one, nor inside one, so 127.0.0.0/8,
//!   link-local, the documentation and benchmarking ranges, multicast, `::1`... are kept
//!   as they are ([`KEPT_V4`], [`KEPT_V6`]), and the private ranges keep their prefix
//!   (10.0.0.0/8 stays in 10.0.0.0/8, fc00::/7 in fc00::/7: [`PRIVATE_V4`],
//!   [`PRIVATE_V6`]). No stand-in of another address can land in a kept range, since the
//!   permutation maps each kept range onto itself.
//! - **Chain hashes**: the suffix of `KUBE-SVC-`, `KUBE-SEP-`, `KUBE-EXT-`, `KUBE-SVL-`,
//!   `KUBE-XLB-` and `KUBE-FW-` chains, anywhere (in `-j`, in `-m recent --name`, in
//!   comments), by 16 characters of the same alphabet; a service's chains keep sharing
//!   their hash.
//! - **Names in comments**: `namespace/name[:port]` (kube-proxy writes it in every
//!   service rule's comment) by `ns-…/svc-…:port-…`; the standard namespaces
//!   (`default`, `kube-system`, `kube-public`, `kube-node-lease`), the services
//!   `kubernetes` and `kube-dns` and generic port names (`http`, `dns`...) are kept.
//!
//! The same original always gets the same stand-in, within a run and across runs with
//! the same key.
//!
//! # Keyed
//!
//! Every stand-in comes from HMAC-SHA-256 under a key: a random one per run unless the
//! user gives one (`--redact-key`, to redact several nodes' dumps consistently). Without
//! the key, a stand-in cannot be reversed by hashing guesses (the private ranges are
//! small enough to try every address, a service name can be guessed), and the map file
//! (`--redact-map`), which holds the key and every original, is what reverses it.
//!
//! Not replaced: interface names, ipset names, other comment text, the dump's header
//! (program, version, date), and input file names, which are shown as given.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::kube::chains::ServiceChain;
use crate::kube::target::Target;

/// Ranges kept exactly as they are (IPv4): this network, loopback, link-local, IETF
/// protocol assignments, the documentation and benchmarking ranges, the 6to4 relay
/// anycast, multicast, and the reserved 240.0.0.0/4 (with 255.255.255.255).
pub const KEPT_V4: &[(Ipv4Addr, u8)] = &[
    (Ipv4Addr::new(0, 0, 0, 0), 8),
    (Ipv4Addr::new(127, 0, 0, 0), 8),
    (Ipv4Addr::new(169, 254, 0, 0), 16),
    (Ipv4Addr::new(192, 0, 0, 0), 24),
    (Ipv4Addr::new(192, 0, 2, 0), 24),
    (Ipv4Addr::new(192, 88, 99, 0), 24),
    (Ipv4Addr::new(198, 18, 0, 0), 15),
    (Ipv4Addr::new(198, 51, 100, 0), 24),
    (Ipv4Addr::new(203, 0, 113, 0), 24),
    (Ipv4Addr::new(224, 0, 0, 0), 4),
    (Ipv4Addr::new(240, 0, 0, 0), 4),
];

/// Private ranges whose prefix is kept and the rest replaced (IPv4): RFC 1918 and the
/// shared address space of RFC 6598.
pub const PRIVATE_V4: &[(Ipv4Addr, u8)] = &[
    (Ipv4Addr::new(10, 0, 0, 0), 8),
    (Ipv4Addr::new(100, 64, 0, 0), 10),
    (Ipv4Addr::new(172, 16, 0, 0), 12),
    (Ipv4Addr::new(192, 168, 0, 0), 16),
];

/// Ranges kept exactly as they are (IPv6): unspecified, loopback, discard, documentation
/// (both), link-local, multicast.
pub const KEPT_V6: &[(Ipv6Addr, u8)] = &[
    (Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 0), 128),
    (Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 1), 128),
    (Ipv6Addr::new(0x100, 0, 0, 0, 0, 0, 0, 0), 64),
    (Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0), 32),
    (Ipv6Addr::new(0x3fff, 0, 0, 0, 0, 0, 0, 0), 20),
    (Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0), 10),
    (Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0), 8),
];

/// Ranges whose prefix is kept and the rest replaced (IPv6): unique local addresses,
/// IPv4-mapped and NAT64 addresses.
pub const PRIVATE_V6: &[(Ipv6Addr, u8)] = &[
    (Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0), 7),
    (Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0, 0), 96),
    (Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0), 96),
];

/// Namespaces every cluster has: kept.
const KEPT_NAMESPACES: &[&str] = &["default", "kube-node-lease", "kube-public", "kube-system"];
/// Services every cluster has: kept.
const KEPT_SERVICES: &[&str] = &["kube-dns", "kubernetes"];
/// Port names that say only what protocol a port speaks: kept.
const KEPT_PORTS: &[&str] = &[
    "dns", "dns-tcp", "grpc", "http", "http2", "https", "metrics", "sctp", "tcp", "udp",
];

/// The kinds of name a redactor replaces (a separate stand-in space each).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NameKind {
    /// A namespace.
    Namespace,
    /// A service name.
    Service,
    /// A service port's name.
    Port,
    /// The hash of a kube-proxy chain name.
    ChainHash,
}

impl NameKind {
    const ALL: [NameKind; 4] = [
        NameKind::Namespace,
        NameKind::Service,
        NameKind::Port,
        NameKind::ChainHash,
    ];

    fn tag(self) -> &'static [u8] {
        match self {
            NameKind::Namespace => b"namespace",
            NameKind::Service => b"service",
            NameKind::Port => b"port",
            NameKind::ChainHash => b"chain-hash",
        }
    }

    /// The stand-in for a digest: a readable prefix and base32 characters.
    fn stand_in(self, digest: &[u8], length: usize) -> String {
        let encoded = data_encoding::BASE32_NOPAD.encode(digest);
        let chars = &encoded[..length.min(encoded.len())];
        match self {
            NameKind::Namespace => format!("ns-{}", chars.to_ascii_lowercase()),
            NameKind::Service => format!("svc-{}", chars.to_ascii_lowercase()),
            NameKind::Port => format!("port-{}", chars.to_ascii_lowercase()),
            NameKind::ChainHash => chars.to_string(),
        }
    }

    fn first_length(self) -> usize {
        match self {
            NameKind::ChainHash => 16,
            _ => 8,
        }
    }
}

/// Every replacement a redactor made, original → stand-in, for the map file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RedactionMap {
    /// The key, in hex.
    pub key_hex: String,
    /// Addresses.
    pub addresses: BTreeMap<IpAddr, IpAddr>,
    /// Prefixes (`10.180.0.0/16`), as written.
    pub prefixes: BTreeMap<String, String>,
    /// Names, by kind.
    pub names: BTreeMap<NameKind, BTreeMap<String, String>>,
}

/// Replaces addresses, names and chain hashes consistently under one key (see the
/// module doc).
pub struct Redactor {
    key: Vec<u8>,
    mac: Hmac<Sha256>,
    addresses: HashMap<IpAddr, IpAddr>,
    prefixes: BTreeMap<String, String>,
    /// Coin flips already drawn, by (family bits, depth, prefix).
    flips: HashMap<(u8, u8, u128), bool>,
    names: HashMap<NameKind, BTreeMap<String, String>>,
    /// Stand-ins in use, by kind: to lengthen one that two originals would share.
    taken: HashMap<(NameKind, String), String>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("Redactor")
            .field("addresses", &self.addresses.len())
            .finish_non_exhaustive()
    }
}

impl Redactor {
    /// A redactor keyed with `key` (any bytes; a user's passphrase, or random ones).
    pub fn new(key: &[u8]) -> Self {
        // HMAC takes a key of any length.
        let mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
            .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
        Redactor {
            key: key.to_vec(),
            mac,
            addresses: HashMap::new(),
            prefixes: BTreeMap::new(),
            flips: HashMap::new(),
            names: HashMap::new(),
            taken: HashMap::new(),
        }
    }

    fn digest(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = self.mac.clone();
        for part in parts {
            mac.update(&(part.len() as u32).to_be_bytes());
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }

    /// The stand-in of an address.
    pub fn address(&mut self, ip: IpAddr) -> IpAddr {
        if let Some(&done) = self.addresses.get(&ip) {
            return done;
        }
        let mapped = self.permuted(ip);
        self.addresses.insert(ip, mapped);
        mapped
    }

    /// The stand-in of a prefix: the one prefix of the same length that holds the
    /// stand-ins of every address it holds.
    pub fn prefix(&mut self, net: ipnet::IpNet) -> ipnet::IpNet {
        let base = network(self.permuted(net.network()), net.prefix_len());
        let mapped = ipnet::IpNet::new(base, net.prefix_len()).unwrap_or(net);
        if mapped != net {
            self.prefixes.insert(net.to_string(), mapped.to_string());
        }
        mapped
    }

    fn permuted(&mut self, ip: IpAddr) -> IpAddr {
        match ip {
            IpAddr::V4(a) => IpAddr::V4(Ipv4Addr::from(
                self.permute(u128::from(u32::from(a)), 32) as u32
            )),
            IpAddr::V6(a) => IpAddr::V6(Ipv6Addr::from(self.permute(u128::from(a), 128))),
        }
    }

    /// The prefix-preserving permutation of a `bits`-bit address (see the module doc).
    fn permute(&mut self, address: u128, bits: u8) -> u128 {
        let mut out = address;
        for depth in 0..bits {
            let prefix = if depth == 0 {
                0
            } else {
                address >> (bits - depth)
            };
            if fixed(bits, depth, prefix) {
                continue;
            }
            let flip = match self.flips.get(&(bits, depth, prefix)) {
                Some(&flip) => flip,
                None => {
                    let digest =
                        self.digest(&[b"address-bit", &[bits, depth], &prefix.to_be_bytes()]);
                    let flip = digest[0] & 1 == 1;
                    self.flips.insert((bits, depth, prefix), flip);
                    flip
                }
            };
            if flip {
                out ^= 1 << (bits - 1 - depth);
            }
        }
        out
    }

    /// The stand-in of a name of `kind` (kept names are their own).
    pub fn name(&mut self, kind: NameKind, original: &str) -> String {
        let kept = match kind {
            NameKind::Namespace => KEPT_NAMESPACES.contains(&original),
            NameKind::Service => KEPT_SERVICES.contains(&original),
            NameKind::Port => {
                KEPT_PORTS.contains(&original) || original.bytes().all(|b| b.is_ascii_digit())
            }
            NameKind::ChainHash => false,
        };
        if kept {
            return original.to_string();
        }
        if let Some(done) = self.names.get(&kind).and_then(|m| m.get(original)) {
            return done.clone();
        }
        let digest = self.digest(&[b"name", kind.tag(), original.as_bytes()]);
        let mut length = kind.first_length();
        let stand_in = loop {
            let candidate = kind.stand_in(&digest, length);
            match self.taken.get(&(kind, candidate.clone())) {
                Some(other) if other != original && length < 52 => length += 2,
                _ => break candidate,
            }
        };
        self.taken
            .insert((kind, stand_in.clone()), original.to_string());
        self.names
            .entry(kind)
            .or_default()
            .insert(original.to_string(), stand_in.clone());
        stand_in
    }

    /// A user's target, mapped as the dump's text is.
    pub fn target(&mut self, target: &Target) -> Target {
        match target {
            Target::NodePort { .. } => target.clone(),
            Target::Address { ip, port, protocol } => Target::Address {
                ip: self.address(*ip),
                port: *port,
                protocol: *protocol,
            },
            Target::Service {
                namespace,
                name,
                port,
            } => Target::Service {
                namespace: self.name(NameKind::Namespace, namespace),
                name: self.name(NameKind::Service, name),
                port: port.as_ref().map(|p| self.name(NameKind::Port, p)),
            },
        }
    }

    /// Every replacement made so far, and the key.
    pub fn map(&self) -> RedactionMap {
        RedactionMap {
            key_hex: self.key.iter().map(|b| format!("{b:02x}")).collect(),
            addresses: self
                .addresses
                .iter()
                .filter(|(a, b)| a != b)
                .map(|(&a, &b)| (a, b))
                .collect(),
            prefixes: self.prefixes.clone(),
            names: NameKind::ALL
                .into_iter()
                .filter_map(|k| Some((k, self.names.get(&k)?.clone())))
                .collect(),
        }
    }

    /// The text with every address, chain hash and comment name replaced. Only ASCII
    /// runs change, by ASCII, so every line stays where it was.
    pub fn text(&mut self, text: &str) -> String {
        let mut out = String::with_capacity(text.len() + text.len() / 16);
        self.scan(text, &mut out, false);
        out
    }

    /// Copies `text` to `out`, replacing as it goes; `comment`: `text` is a comment's
    /// value, where `ns/name[:port]` names are replaced too.
    fn scan(&mut self, text: &str, out: &mut String, comment: bool) {
        let bytes = text.as_bytes();
        let mut copied = 0;
        let mut at = 0;
        while at < bytes.len() {
            // A chain declaration's `:` starts a line: the name after it is a word.
            let declaration =
                at >= 1 && bytes[at - 1] == b':' && (at == 1 || bytes[at - 2] == b'\n');
            let boundary = at == 0 || !is_word_byte(bytes[at - 1]) || declaration;
            let rest = &text[at..];
            let option = !comment && rest.starts_with("--comment");
            if !boundary || !(option || bytes[at].is_ascii_alphanumeric() || bytes[at] == b':') {
                at += 1;
                continue;
            }
            let found = if option {
                self.comment(rest)
            } else if rest.starts_with("KUBE-") {
                self.chain_hash(rest)
            } else if comment {
                self.service_name(rest).or_else(|| self.address_run(rest))
            } else {
                self.address_run(rest)
            };
            match found {
                Some((consumed, replacement)) => {
                    out.push_str(&text[copied..at]);
                    out.push_str(&replacement);
                    at += consumed;
                    copied = at;
                }
                // A declaration's `:`: the chain name after it is looked at next.
                None if bytes[at] == b':' && (at == 0 || bytes[at - 1] == b'\n') => at += 1,
                None => {
                    // Past this word.
                    at += word_length(rest).max(1);
                }
            }
        }
        out.push_str(&text[copied..]);
    }

    /// `--comment VALUE`: the value scanned as a comment. Returns the bytes consumed and
    /// their replacement.
    fn comment(&mut self, rest: &str) -> Option<(usize, String)> {
        let after = &rest["--comment".len()..];
        let spaces = after.len() - after.trim_start_matches([' ', '\t']).len();
        if spaces == 0 {
            return None;
        }
        let value = &after[spaces..];
        let length = if value.starts_with('"') {
            let mut escaped = false;
            let mut end = value.len();
            for (i, c) in value.char_indices().skip(1) {
                match c {
                    _ if escaped => escaped = false,
                    '\\' => escaped = true,
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    _ => {}
                }
            }
            end
        } else {
            value.find([' ', '\t']).unwrap_or(value.len())
        };
        let mut out = String::from(&rest[..("--comment".len() + spaces)]);
        self.scan(&value[..length], &mut out, true);
        Some(("--comment".len() + spaces + length, out))
    }

    /// `KUBE-SVC-HASH` (and the other service chain families): the hash replaced.
    fn chain_hash(&mut self, rest: &str) -> Option<(usize, String)> {
        let family = [
            ServiceChain::Cluster,
            ServiceChain::Xlb,
            ServiceChain::External,
            ServiceChain::Local,
            ServiceChain::Firewall,
            ServiceChain::Endpoint,
        ]
        .into_iter()
        .find(|f| rest.starts_with(f.prefix()))?;
        let prefix = family.prefix();
        let hash_length = rest[prefix.len()..]
            .bytes()
            .take_while(u8::is_ascii_alphanumeric)
            .count();
        if hash_length == 0 {
            return None;
        }
        let hash = &rest[prefix.len()..prefix.len() + hash_length];
        let stand_in = self.name(NameKind::ChainHash, hash);
        Some((prefix.len() + hash_length, format!("{prefix}{stand_in}")))
    }

    /// `namespace/name[:port]` in a comment, each part a DNS label.
    fn service_name(&mut self, rest: &str) -> Option<(usize, String)> {
        let namespace = label(rest)?;
        let after = rest[namespace.len()..].strip_prefix('/')?;
        let name = label(after)?;
        let mut consumed = namespace.len() + 1 + name.len();
        let port = rest[consumed..].strip_prefix(':').and_then(label);
        if let Some(port) = port {
            consumed += 1 + port.len();
        }
        // A path (`a/b/c`) or a longer word is not a service name.
        if rest[consumed..]
            .bytes()
            .next()
            .is_some_and(|b| is_word_byte(b) || b == b'/')
        {
            return None;
        }
        let mut out = format!(
            "{}/{}",
            self.name(NameKind::Namespace, namespace),
            self.name(NameKind::Service, name)
        );
        if let Some(port) = port {
            out.push(':');
            out.push_str(&self.name(NameKind::Port, port));
        }
        Some((consumed, out))
    }

    /// An address at the start of `rest`: `A.B.C.D`, `A.B.C.D:PORT`, an IPv6 address,
    /// each with an optional `/LEN` (or, after IPv4, a dotted mask, kept).
    fn address_run(&mut self, rest: &str) -> Option<(usize, String)> {
        let run_length = rest
            .bytes()
            .take_while(|&b| b.is_ascii_alphanumeric() || b == b'.' || b == b':')
            .count();
        let run = &rest[..run_length];
        // A sentence may end right after an address.
        let trimmed = run.trim_end_matches('.');
        let (ip, address_length, port) = if let Ok(v4) = trimmed.parse::<Ipv4Addr>() {
            (IpAddr::V4(v4), trimmed.len(), "")
        } else if let Some((left, port)) = trimmed.rsplit_once(':')
            && let Ok(v4) = left.parse::<Ipv4Addr>()
            && !port.is_empty()
            && port.bytes().all(|b| b.is_ascii_digit())
        {
            (IpAddr::V4(v4), left.len(), port)
        } else if run.matches(':').count() >= 2
            && let Ok(v6) = run.parse::<Ipv6Addr>()
        {
            (IpAddr::V6(v6), run.len(), "")
        } else {
            return None;
        };
        let after = &rest[address_length + if port.is_empty() { 0 } else { 1 + port.len() }..];
        let mut consumed = rest.len() - after.len();
        let mut stand_in = None;
        let mut suffix = if port.is_empty() {
            String::new()
        } else {
            format!(":{port}")
        };
        if port.is_empty()
            && let Some(mask) = after.strip_prefix('/')
        {
            let digits = mask.bytes().take_while(u8::is_ascii_digit).count();
            let next = mask.as_bytes().get(digits).copied();
            if digits > 0 && next != Some(b'.') && !next.is_some_and(is_word_byte) {
                if let Ok(length) = mask[..digits].parse::<u8>()
                    && length <= max_length(ip)
                {
                    if length < max_length(ip)
                        && network(ip, length) == ip
                        && let Ok(net) = ipnet::IpNet::new(ip, length)
                    {
                        stand_in = Some(self.prefix(net).network());
                    }
                    suffix = format!("/{length}");
                    consumed += 1 + digits;
                }
            } else if digits > 0 {
                // A dotted mask: kept as written (not an address).
                let mask_length = mask
                    .bytes()
                    .take_while(|&b| b.is_ascii_digit() || b == b'.')
                    .count();
                suffix = format!("/{}", &mask[..mask_length]);
                consumed += 1 + mask_length;
            }
        }
        let stand_in = match stand_in {
            Some(network) => network,
            None => self.address(ip),
        };
        Some((consumed, format!("{stand_in}{suffix}")))
    }
}

/// True if the tree node at `depth` with `prefix` (the first `depth` bits of an address
/// of `bits` bits) must not flip: it contains a special range, or lies inside a kept one.
fn fixed(bits: u8, depth: u8, prefix: u128) -> bool {
    let blocks = |network: u128, length: u8, kept: bool| {
        let top = |bits_kept: u8| {
            if bits_kept == 0 {
                0
            } else {
                network >> (bits - bits_kept)
            }
        };
        if depth < length {
            // This node contains the range: flipping here would move it.
            top(depth) == prefix
        } else {
            // Inside the range (kept: no flip at all; private: free below its prefix).
            kept && (prefix >> (depth - length)) == top(length)
        }
    };
    if bits == 32 {
        let v4 = |&(a, l): &(Ipv4Addr, u8)| (u128::from(u32::from(a)), l);
        KEPT_V4.iter().map(v4).any(|(n, l)| blocks(n, l, true))
            || PRIVATE_V4.iter().map(v4).any(|(n, l)| blocks(n, l, false))
    } else {
        let v6 = |&(a, l): &(Ipv6Addr, u8)| (u128::from(a), l);
        KEPT_V6.iter().map(v6).any(|(n, l)| blocks(n, l, true))
            || PRIVATE_V6.iter().map(v6).any(|(n, l)| blocks(n, l, false))
    }
}

fn max_length(ip: IpAddr) -> u8 {
    match ip {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

/// `ip` with its bits past `length` cleared.
fn network(ip: IpAddr, length: u8) -> IpAddr {
    match ip {
        IpAddr::V4(a) => {
            let mask = if length == 0 {
                0
            } else {
                u32::MAX << (32 - length)
            };
            IpAddr::V4(Ipv4Addr::from(u32::from(a) & mask))
        }
        IpAddr::V6(a) => {
            let mask = if length == 0 {
                0
            } else {
                u128::MAX << (128 - length)
            };
            IpAddr::V6(Ipv6Addr::from(u128::from(a) & mask))
        }
    }
}

/// Bytes that continue a word: no address, name or hash starts right after one.
fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':')
}

fn word_length(rest: &str) -> usize {
    rest.bytes().take_while(|&b| is_word_byte(b)).count()
}

/// A DNS label at the start of `text`: `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63.
fn label(text: &str) -> Option<&str> {
    let length = text
        .bytes()
        .take_while(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        .count();
    let candidate = text[..length].trim_end_matches('-');
    let ok = !candidate.is_empty() && !candidate.starts_with('-') && candidate.len() <= 63;
    ok.then_some(candidate)
}

#[cfg(test)]
#[path = "redact_tests.rs"]
mod tests;
