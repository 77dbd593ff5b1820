//! What a rule tests: the built-in options (`-s`, `-d`, `-p`, `-i`, `-o`, `-f`) and the
//! `-m MODULE --option value...` groups, typed where the analysis needs them.

use std::borrow::Cow;

use crate::model::RuleBody;
use crate::model::addr::{Address, PortRange, Protocol};
use crate::model::word::Word;
use crate::source::Span;

/// A value with its `!`.
#[derive(Debug, Clone, PartialEq)]
pub struct Negatable<T> {
    /// The value tested.
    pub value: T,
    /// True when the test is inverted with `!`.
    pub negated: bool,
}

/// One test in a rule.
#[derive(Debug, Clone, PartialEq)]
pub enum Match<'a> {
    /// `[!] -s ADDR`
    Source(Negatable<Address>),
    /// `[!] -d ADDR`
    Destination(Negatable<Address>),
    /// `[!] -p PROTO`
    Protocol(Negatable<Protocol>),
    /// `[!] -i IFACE` (a trailing `+` is a wildcard)
    InInterface(Negatable<Interface<'a>>),
    /// `[!] -o IFACE`
    OutInterface(Negatable<Interface<'a>>),
    /// `[!] -f`: second and later fragments.
    Fragment {
        /// `! -f`
        negated: bool,
    },
    /// `-m NAME ...`
    Module(Module<'a>),
}

/// An interface name as a rule gives it; `eth+` matches every name starting with `eth`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interface<'a>(pub &'a str);

impl Interface<'_> {
    /// True if the interface called `name` matches.
    pub fn matches(&self, name: &str) -> bool {
        match self.0.strip_suffix('+') {
            Some(prefix) => name.starts_with(prefix),
            None => self.0 == name,
        }
    }
}

/// One option inside a `-m` group or after a target: `[!] --name [value...]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ModuleOption<'a> {
    /// `! --name`, or the old `--name ! value`.
    pub negated: bool,
    /// The option's name without dashes (`dport`, `comment`).
    pub name: &'a str,
    /// Which of the rule's words are its values (nearly always one). Read them with
    /// [`RuleBody::values`] or [`ModuleOption::value`].
    pub values: WordRange,
    /// Where the option starts and its last value ends.
    pub span: Span,
    /// True when the typed form ([`ModuleKind`]/[`crate::model::TargetKind`]) took it into account.
    pub understood: bool,
}

impl<'a> ModuleOption<'a> {
    /// The text of its first value (unquoted, unescaped), or "" for a flag. `words`:
    /// the rule's words ([`RuleBody::words`]).
    pub fn value(&self, words: &[Word<'a>]) -> Cow<'a, str> {
        self.values
            .of(words)
            .first()
            .map_or(Cow::Borrowed(""), Word::text)
    }
}

/// Some consecutive words of a rule ([`RuleBody::words`]): `start..end`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WordRange {
    /// Index of the first word.
    pub start: u32,
    /// One past the last word.
    pub end: u32,
}

impl WordRange {
    /// The words it names.
    pub fn of<'w, 'a>(self, words: &'w [Word<'a>]) -> &'w [Word<'a>] {
        words
            .get(self.start as usize..self.end as usize)
            .unwrap_or(&[])
    }
}

/// Where the options of a module or target are in its rule's [`RuleBody::options`]:
/// `start..end`, in the order written. A rule's options are kept in one list, so that
/// typing a rule neither allocates nor moves them module by module.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OptionRange {
    /// Index of the first option.
    pub start: u32,
    /// One past the last option.
    pub end: u32,
}

impl OptionRange {
    /// The options in `range` of `body` (none if the range is not in `body`, which only a
    /// model built by hand can do).
    pub fn of<'b, 'a>(self, body: &'b RuleBody<'a>) -> &'b [ModuleOption<'a>] {
        body.options
            .get(self.start as usize..self.end as usize)
            .unwrap_or(&[])
    }

    /// True when there are no options.
    pub fn is_empty(self) -> bool {
        self.start >= self.end
    }
}

/// A `-m NAME` group: its raw options, and a typed reading of them for the modules the
/// analysis understands.
#[derive(Debug, Clone, PartialEq)]
pub struct Module<'a> {
    /// The module name (`tcp`, `comment`, `addrtype`, ...).
    pub name: &'a str,
    /// Its options, in [`RuleBody::options`].
    pub options: OptionRange,
    /// The typed reading.
    pub kind: ModuleKind<'a>,
    /// From `-m` to the end of the last option.
    pub span: Span,
}

impl<'a> Module<'a> {
    /// Its options, as written; `body` is the rule it is in.
    pub fn options_in<'b, 'r>(&self, body: &'b RuleBody<'r>) -> &'b [ModuleOption<'r>] {
        self.options.of(body)
    }

    /// Options that the typed reading did not account for: the analysis cannot decide them.
    /// `body` is the rule the module is in.
    pub fn uninterpreted<'b, 'r>(
        &self,
        body: &'b RuleBody<'r>,
    ) -> impl Iterator<Item = &'b ModuleOption<'r>> + use<'b, 'r> {
        self.options_in(body).iter().filter(|o| !o.understood)
    }
}

/// The typed reading of a module's options.
#[derive(Debug, Clone, PartialEq)]
pub enum ModuleKind<'a> {
    /// `-m tcp|udp|sctp [!] --sport P[:P] [!] --dport P[:P]`
    Ports {
        /// Source port test.
        sport: Option<Negatable<PortRange>>,
        /// Destination port test.
        dport: Option<Negatable<PortRange>>,
    },
    /// `-m multiport [!] --dports|--sports|--ports P,P:P,...`
    Multiport {
        /// Which port the list is tested against.
        direction: PortDirection,
        /// The listed ports and ranges.
        ports: Negatable<Vec<PortRange>>,
    },
    /// `-m addrtype [[!] --src-type T,...] [[!] --dst-type T,...] [--limit-iface-in|out]`
    AddrType {
        /// Source address type test.
        src_type: Option<Negatable<Vec<&'a str>>>,
        /// Destination address type test.
        dst_type: Option<Negatable<Vec<&'a str>>>,
    },
    /// `-m mark [!] --mark VALUE[/MASK]`
    Mark(Negatable<MarkValue>),
    /// `-m comment --comment TEXT`
    Comment(Cow<'a, str>),
    /// `-m statistic --mode random|nth ...`
    Statistic(Negatable<Statistic>),
    /// `-m conntrack [!] --ctstate S,...` and `-m state [!] --state S,...`
    Conntrack {
        /// The connection states tested, upper-case as written.
        states: Option<Negatable<Vec<&'a str>>>,
    },
    /// `-m set [!] --match-set NAME FLAGS`
    Set {
        /// The ipset name.
        name: Cow<'a, str>,
        /// `src`, `dst,dst`, ...
        flags: Cow<'a, str>,
        /// `! --match-set`
        negated: bool,
    },
    /// `-m recent --rcheck|--set|--update ... --name N`: session affinity.
    Recent {
        /// The list name (`--name`), `DEFAULT` if absent.
        name: Cow<'a, str>,
        /// What it does: `rcheck`, `set`, `update` or `remove`.
        action: &'a str,
    },
    /// `-m nfacct --nfacct-name NAME`: a counter, always matches.
    Nfacct {
        /// The accounting object's name.
        name: Cow<'a, str>,
    },
    /// `-m physdev ...`: bridge port tests.
    Physdev,
    /// A module the analysis does not interpret: kept with its options.
    Other,
}

/// What a multiport list applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortDirection {
    /// `--sports`
    Source,
    /// `--dports`
    Destination,
    /// `--ports`: either.
    Either,
}

/// A mark test `value/mask`: matches when `mark & mask == value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarkValue {
    /// The wanted bits.
    pub value: u32,
    /// Which bits are compared (`0xffffffff` when not written).
    pub mask: u32,
}

impl MarkValue {
    /// True if `mark` passes the test (before negation).
    pub fn matches(&self, mark: u32) -> bool {
        mark & self.mask == self.value
    }
}

/// `-m statistic`
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Statistic {
    /// `--mode random --probability P`: matches with probability `P`.
    Random {
        /// Between 0 and 1.
        probability: f64,
    },
    /// `--mode nth --every N --packet P`: matches one packet in `N`.
    Nth {
        /// The period.
        every: u32,
        /// The packet in each period that matches.
        packet: u32,
    },
}

/// The tests a rule makes on a packet's own fields: its first destination, its first
/// protocol, and its first `-m tcp|udp|sctp` group when that group is only port tests.
/// What the evaluator remembers of a rule to pass it by without typing it again, and what
/// [`crate::parse::scan::leading::leading_tests`] reads from a rule's first words.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PacketTests {
    /// The first `[!] -d ADDR`.
    pub destination: Option<Negatable<Address>>,
    /// The first `[!] -p PROTO`.
    pub protocol: Option<Negatable<Protocol>>,
    /// The first port group, if it has nothing but `--sport`/`--dport`.
    pub ports: Option<PortTests>,
}

/// The `--sport` and `--dport` of one `-m tcp|udp|sctp` group.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PortTests {
    /// `[!] --sport PORT[:PORT]`
    pub sport: Option<Negatable<PortRange>>,
    /// `[!] --dport PORT[:PORT]`
    pub dport: Option<Negatable<PortRange>>,
}

impl PacketTests {
    /// The tests of a typed rule.
    pub fn of(body: &RuleBody<'_>) -> Self {
        let mut tests = PacketTests::default();
        for m in &body.matches {
            match m {
                Match::Destination(d) if tests.destination.is_none() => {
                    tests.destination = Some(d.clone());
                }
                Match::Protocol(p) if tests.protocol.is_none() => {
                    tests.protocol = Some(p.clone());
                }
                Match::Module(module) if tests.ports.is_none() => {
                    if let ModuleKind::Ports { sport, dport } = &module.kind
                        && module.uninterpreted(body).next().is_none()
                    {
                        tests.ports = Some(PortTests {
                            sport: sport.clone(),
                            dport: dport.clone(),
                        });
                    }
                }
                _ => {}
            }
        }
        tests
    }

    /// True when the rule tests none of these fields.
    pub fn is_empty(&self) -> bool {
        self.destination.is_none() && self.protocol.is_none() && self.ports.is_none()
    }
}
