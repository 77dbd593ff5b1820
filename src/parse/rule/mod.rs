//! A rule's arguments (the words after `-A CHAIN`) → typed matches and target: the
//! dispatch of the basic options, the one list of their names (`RuleOption`), and the
//! cursor that groups a module's or a target's options.
//!
//! Grammar (see grammar/iptables-save.md): a rule is a sequence of
//! `[!] -s|-d|-p|-i|-o VALUE`, `[!] -f`, `-m MODULE option*` and `-j TARGET option*` /
//! `-g CHAIN`, where `option = [!] --name [!] value*`. Modules (submodule `modules`) and
//! targets (`targets`) the analysis needs get typed readings; all others are kept with their
//! raw options, never an error. The values inside the words are read by `values`.

mod modules;
mod targets;
mod values;

use crate::model::RuleBody;
use crate::model::addr::{Address, Protocol};
use crate::model::matcher::{Interface, Match, ModuleOption, Negatable, OptionRange, WordRange};
use crate::model::word::Word;
use crate::parse::error::ParseErrorKind;
use crate::source::Span;

pub use values::{parse_address, parse_nat_range, parse_port_range};

/// A rule error with absolute byte offsets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    /// What went wrong.
    pub kind: ParseErrorKind,
    /// First offending byte.
    pub start: usize,
    /// One past the last offending byte.
    pub end: usize,
}

impl RuleError {
    fn at(word: &Word<'_>, kind: ParseErrorKind) -> Self {
        RuleError {
            kind,
            start: word.start(),
            end: word.end(),
        }
    }
}

/// Interprets the body's words (filled by [`crate::parse::scan::words::split_words`]) into its
/// matches, target and options, which are cleared first.
pub fn rule_args(body: &mut RuleBody<'_>) -> Result<(), RuleError> {
    // Out of the body while typing, so that the words can be read while the rest of the
    // body is written; put back whatever happens.
    let words = std::mem::take(&mut body.words);
    let result = type_words(&words, body);
    body.words = words;
    result
}

/// Reads the words option by option: each basic option, module and target in turn.
fn type_words<'a>(words: &[Word<'a>], body: &mut RuleBody<'a>) -> Result<(), RuleError> {
    body.matches.clear();
    body.target = None;
    body.options.clear();
    let mut cursor = Cursor { words, pos: 0 };
    // The protocol of the last `-p` that is not negated, whose match a long option without
    // `-m` loads.
    let mut protocol: Option<Protocol> = None;
    while let Some(first) = cursor.next() {
        let (word, negated) = cursor.after_negation(first)?;
        let option = option_text(word)?;
        match RuleOption::named(option) {
            Some(kind @ (RuleOption::Source | RuleOption::Destination)) => {
                let test = address_test(&mut cursor, word, negated)?;
                body.matches.push(if kind == RuleOption::Source {
                    Match::Source(test)
                } else {
                    Match::Destination(test)
                });
            }
            Some(RuleOption::Protocol) => {
                let test = protocol_test(&mut cursor, word, negated)?;
                if !test.negated {
                    protocol = Some(test.value);
                }
                body.matches.push(Match::Protocol(test));
            }
            Some(kind @ (RuleOption::InInterface | RuleOption::OutInterface)) => {
                let test = interface_test(&mut cursor, word, negated)?;
                body.matches.push(if kind == RuleOption::InInterface {
                    Match::InInterface(test)
                } else {
                    Match::OutInterface(test)
                });
            }
            Some(RuleOption::Fragment) => body.matches.push(Match::Fragment { negated }),
            Some(RuleOption::Match) => match_group(&mut cursor, word, negated, body)?,
            Some(kind @ (RuleOption::Jump | RuleOption::Goto)) => {
                let goto = kind == RuleOption::Goto;
                target_group(&mut cursor, word, negated, goto, body)?;
            }
            Some(RuleOption::Counters) => {
                // `-c PACKETS BYTES` inside a rule (iptables-restore input form): counters only.
                cursor.required(word)?;
                cursor.required(word)?;
            }
            Some(RuleOption::Family) => {}
            // A bare `--` names no option: it is an unknown option below. Letting it
            // in here would read no option and loop forever on the same word.
            None if option.starts_with("--") && option.len() > 2 => {
                implicit_match_group(&mut cursor, word, option, negated, protocol, body)?;
            }
            None => {
                return Err(RuleError::at(
                    word,
                    ParseErrorKind::UnknownOption(option.to_string()),
                ));
            }
        }
    }
    Ok(())
}

/// The option `word` spells: it must be a bare word starting with `-`.
fn option_text<'a>(word: &Word<'a>) -> Result<&'a str, RuleError> {
    match word.bare() {
        Some(option) if option.starts_with('-') => Ok(option),
        _ => Err(RuleError::at(
            word,
            ParseErrorKind::StrayWord(word.text().into_owned()),
        )),
    }
}

/// `[!] -s|-d [!] ADDRESS`, after the option.
fn address_test(
    cursor: &mut Cursor<'_, '_>,
    option: &Word<'_>,
    negated: bool,
) -> Result<Negatable<Address>, RuleError> {
    let (value, negated) = cursor.value_after(option, negated)?;
    let address = parse_address(&value.text()).ok_or_else(|| {
        RuleError::at(value, ParseErrorKind::BadAddress(value.text().into_owned()))
    })?;
    Ok(Negatable {
        value: address,
        negated,
    })
}

/// `[!] -p [!] PROTOCOL`, after the option.
fn protocol_test(
    cursor: &mut Cursor<'_, '_>,
    option: &Word<'_>,
    negated: bool,
) -> Result<Negatable<Protocol>, RuleError> {
    let (value, negated) = cursor.value_after(option, negated)?;
    let protocol = Protocol::from_name(&value.text()).ok_or_else(|| {
        RuleError::at(
            value,
            ParseErrorKind::BadProtocol(value.text().into_owned()),
        )
    })?;
    Ok(Negatable {
        value: protocol,
        negated,
    })
}

/// `[!] -i|-o [!] INTERFACE`, after the option.
fn interface_test<'a>(
    cursor: &mut Cursor<'_, 'a>,
    option: &Word<'_>,
    negated: bool,
) -> Result<Negatable<Interface<'a>>, RuleError> {
    let (value, negated) = cursor.value_after(option, negated)?;
    // Interface names never need quoting; iptables-save never quotes them.
    let Some(name) = value.borrowed() else {
        return Err(RuleError::at(
            value,
            ParseErrorKind::BadValue {
                what: "an interface name (letters, digits, `.`, `-`, `_`, `+`)",
                value: value.text().into_owned(),
            },
        ));
    };
    Ok(Negatable {
        value: Interface(name),
        negated,
    })
}

/// `-m NAME option*`, after the `-m` (`m_word`): the module, typed, appended to the body.
fn match_group<'a>(
    cursor: &mut Cursor<'_, 'a>,
    m_word: &Word<'_>,
    negated: bool,
    body: &mut RuleBody<'a>,
) -> Result<(), RuleError> {
    if negated {
        return Err(RuleError::at(m_word, ParseErrorKind::DanglingNegation));
    }
    let name = borrowed_name(cursor.required(m_word)?)?;
    let options = cursor.options(&mut body.options);
    modules::typed_module(name, m_word, options, cursor.words, body)
}

/// `-j TARGET option*` or `-g CHAIN`, after the `-j`/`-g` (`j_word`): the body's target.
fn target_group<'a>(
    cursor: &mut Cursor<'_, 'a>,
    j_word: &Word<'_>,
    negated: bool,
    goto: bool,
    body: &mut RuleBody<'a>,
) -> Result<(), RuleError> {
    if negated {
        return Err(RuleError::at(j_word, ParseErrorKind::DanglingNegation));
    }
    let name_word = cursor.required(j_word)?;
    let name = borrowed_name(name_word)?;
    // The last target counts: an earlier one goes, with its options.
    drop_target(body);
    let options = cursor.options(&mut body.options);
    targets::typed_target(name, name_word, goto, j_word, options, cursor.words, body)
}

/// `[!] --name ...` with no `-m` before it (`word`, read as `option`): after
/// `-p tcp|udp|sctp`, the start of the protocol's match, which iptables loads implicitly
/// (`-p tcp --dport 80`, which `iptables -S`-style input relies on); an error otherwise.
fn implicit_match_group<'a>(
    cursor: &mut Cursor<'_, 'a>,
    word: &Word<'_>,
    option: &str,
    negated: bool,
    protocol: Option<Protocol>,
    body: &mut RuleBody<'a>,
) -> Result<(), RuleError> {
    let implicit = match protocol {
        Some(Protocol::Tcp) => "tcp",
        Some(Protocol::Udp) => "udp",
        Some(Protocol::Sctp) => "sctp",
        _ => {
            return Err(RuleError::at(
                word,
                ParseErrorKind::OptionOutsideModule(option.to_string()),
            ));
        }
    };
    // Back to the option (and its `!`): it is the module's first.
    cursor.pos -= if negated { 2 } else { 1 };
    let options = cursor.options(&mut body.options);
    modules::typed_module(implicit, word, options, cursor.words, body)
}

/// The options a rule has outside its modules and target options: the one list of their
/// spellings ([`RuleOption::named`]) and of the words each takes ([`RuleOption::values`]),
/// which the fast scanners ([`crate::parse::scan`]) read too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RuleOption {
    Source,
    Destination,
    Protocol,
    InInterface,
    OutInterface,
    Fragment,
    Match,
    Jump,
    Goto,
    Counters,
    /// `-4`/`-6`, which iptables-restore accepts and ignores.
    Family,
}

impl RuleOption {
    /// The option `written` names, in its short or long spelling.
    // Inlined, the short spellings only (`-s`, `-j`...: nearly every option of a saved
    // dump): it reads an option of every rule, here and in both scanners. Left to the
    // compiler with three callers, it became a call and `inspect` ran 2.5% more
    // instructions (callgrind, 5,000-service dump).
    #[inline(always)]
    pub(crate) fn named(written: &str) -> Option<RuleOption> {
        match written.as_bytes() {
            [b'-', letter] => RuleOption::by_letter(*letter),
            [b'-', b'-', _, ..] => RuleOption::by_long_name(written),
            _ => None,
        }
    }

    /// The option spelled `-LETTER`.
    fn by_letter(letter: u8) -> Option<RuleOption> {
        use RuleOption::*;
        Some(match letter {
            b's' => Source,
            b'd' => Destination,
            b'p' => Protocol,
            b'i' => InInterface,
            b'o' => OutInterface,
            b'f' => Fragment,
            b'm' => Match,
            b'j' => Jump,
            b'g' => Goto,
            b'c' => Counters,
            b'4' | b'6' => Family,
            _ => return None,
        })
    }

    /// The option spelled `--NAME` (`--source`, `--jump`...).
    fn by_long_name(written: &str) -> Option<RuleOption> {
        use RuleOption::*;
        Some(match written {
            "--source" | "--src" => Source,
            "--destination" | "--dst" => Destination,
            "--protocol" => Protocol,
            "--in-interface" => InInterface,
            "--out-interface" => OutInterface,
            "--fragment" => Fragment,
            "--match" => Match,
            "--jump" => Jump,
            "--goto" => Goto,
            "--set-counters" => Counters,
            "--ipv4" | "--ipv6" => Family,
            _ => return None,
        })
    }

    /// How many words after the option it takes as values, whatever they look like (the
    /// old-form `!` of `-s ! ADDR` aside): an address, protocol or interface for `-s`, `-d`,
    /// `-p`, `-i`, `-o`; the module's, target's or chain's name for `-m`, `-j`, `-g`; packets
    /// and bytes for `-c`; none for `-f`, `-4`, `-6`.
    pub(crate) fn values(self) -> usize {
        use RuleOption::*;
        match self {
            Source | Destination | Protocol | InInterface | OutInterface | Match | Jump | Goto => 1,
            Counters => 2,
            Fragment | Family => 0,
        }
    }
}

/// Removes the body's target and its options, so that a later `-j` leaves the same body
/// as if it were the only one (the options of modules after it move down).
fn drop_target(body: &mut RuleBody<'_>) {
    let Some(target) = body.target.take() else {
        return;
    };
    let OptionRange { start, end } = target.options;
    let removed = end - start;
    if removed == 0 {
        return;
    }
    body.options.drain(start as usize..end as usize);
    for m in &mut body.matches {
        if let Match::Module(module) = m
            && module.options.start >= end
        {
            module.options.start -= removed;
            module.options.end -= removed;
        }
    }
}

/// True for a bare `!`.
pub(crate) fn is_bang(word: &Word<'_>) -> bool {
    word.bare() == Some("!")
}

/// Module, target and chain names are never quoted by iptables-save.
fn borrowed_name<'a>(word: &Word<'a>) -> Result<&'a str, RuleError> {
    match word.borrowed() {
        Some(name) if !name.is_empty() => Ok(name),
        _ => Err(RuleError::at(
            word,
            ParseErrorKind::BadValue {
                what: "a name (module, target or chain names are never quoted)",
                value: word.text().into_owned(),
            },
        )),
    }
}

/// Walks the words of one rule.
struct Cursor<'w, 'a> {
    words: &'w [Word<'a>],
    pos: usize,
}

impl<'w, 'a> Cursor<'w, 'a> {
    fn next(&mut self) -> Option<&'w Word<'a>> {
        let word = self.words.get(self.pos)?;
        self.pos += 1;
        Some(word)
    }

    fn peek(&self, ahead: usize) -> Option<&'w Word<'a>> {
        self.words.get(self.pos + ahead)
    }

    /// `word`, or the word after it when `word` is a `!`; and true if it was.
    fn after_negation(&mut self, word: &'w Word<'a>) -> Result<(&'w Word<'a>, bool), RuleError> {
        if !is_bang(word) {
            return Ok((word, false));
        }
        let negated = self
            .next()
            .ok_or_else(|| RuleError::at(word, ParseErrorKind::DanglingNegation))?;
        Ok((negated, true))
    }

    /// The word after `option`, which must exist.
    fn required(&mut self, option: &Word<'_>) -> Result<&'w Word<'a>, RuleError> {
        self.next().ok_or_else(|| RuleError {
            kind: ParseErrorKind::MissingValue(option.text().into_owned()),
            start: option.start(),
            end: option.end(),
        })
    }

    /// The value after a basic option, accepting the old `-s ! ADDR` negation.
    fn value_after(
        &mut self,
        option: &Word<'_>,
        negated: bool,
    ) -> Result<(&'w Word<'a>, bool), RuleError> {
        let value = self.required(option)?;
        if is_bang(value) {
            return Ok((self.required(option)?, true));
        }
        Ok((value, negated))
    }

    /// `[!] --name [!] value*` options, until the next short option or the end, appended
    /// to `options`: where they are there.
    fn options(&mut self, options: &mut Vec<ModuleOption<'a>>) -> OptionRange {
        let first = options.len();
        loop {
            let (negated, name_at) = match self.peek(0) {
                Some(w) if is_bang(w) => (true, 1),
                Some(_) => (false, 0),
                None => break,
            };
            let Some(name_word) = self.peek(name_at) else {
                break;
            };
            let Some(name) = long_option_name(name_word) else {
                break;
            };
            let start = self.words[self.pos].start();
            self.pos += name_at + 1;
            let mut negated = negated;
            if self.peek(0).is_some_and(is_bang) && self.peek(1).is_some_and(|w| !is_option(w)) {
                // Old form: `--dport ! 80`.
                negated = true;
                self.pos += 1;
            }
            let first_value = self.pos;
            let mut end = name_word.end();
            let arity = fixed_arity(name);
            while let Some(value) = self.peek(0) {
                let take = match arity {
                    Some(n) => self.pos - first_value < n,
                    None => value
                        .bare()
                        .is_none_or(|v| !(v.starts_with('-') || v == "!")),
                };
                if !take {
                    break;
                }
                end = value.end();
                self.pos += 1;
            }
            let values = WordRange {
                start: first_value as u32,
                end: self.pos as u32,
            };
            options.push(ModuleOption {
                negated,
                name,
                values,
                span: Span::new(start, end),
                understood: false,
            });
        }
        OptionRange {
            start: first as u32,
            end: options.len() as u32,
        }
    }
}

/// `--name` → `name`, for an unquoted long option.
fn long_option_name<'a>(word: &Word<'a>) -> Option<&'a str> {
    word.bare()?.strip_prefix("--").filter(|n| !n.is_empty())
}

/// True for a word that starts an option (short or long).
fn is_option(word: &Word<'_>) -> bool {
    word.bare()
        .is_some_and(|w| w.starts_with('-') && w.len() > 1)
}

/// Options known to take exactly this many values, even if a value starts with `-`
/// (iptables-save leaves `-abc` unquoted, so `--comment -abc` is legal).
pub(crate) fn fixed_arity(name: &str) -> Option<usize> {
    Some(match name {
        "comment" | "log-prefix" | "nfacct-name" | "name" | "set-xmark" | "set-mark"
        | "or-mark" | "and-mark" | "xor-mark" | "mark" | "to-destination" | "to-source"
        | "to-ports" | "reject-with" | "ctstate" | "state" | "src-type" | "dst-type" | "dport"
        | "sport" | "dports" | "sports" | "ports" | "destination-port" | "source-port"
        | "destination-ports" | "source-ports" | "probability" | "mode" | "every" | "packet"
        | "seconds" | "mask" | "hitcount" | "log-level" | "set-class" | "physdev-in"
        | "physdev-out" | "ctstatus" | "ctproto" | "ctorigsrc" | "ctorigdst" | "ctreplsrc"
        | "ctrepldst" | "ctorigsrcport" | "ctorigdstport" | "ctexpire" | "ctdir" => 1,
        "match-set" | "tcp-flags" => 2,
        _ => return None,
    })
}

/// The options of one module or target, as its typed reading ([`modules`], [`targets`])
/// sees them.
struct Group<'o, 'a> {
    /// Its options: a slice of the body's.
    options: &'o mut [ModuleOption<'a>],
    /// The rule's words, which the options' values index.
    words: &'o [Word<'a>],
    /// Where it starts (its `-m`/`-j`) and ends (its last option, or its name): an error
    /// about the group as a whole points there.
    start: usize,
    end: usize,
}

impl<'a> Group<'_, 'a> {
    /// The first option called `name`.
    fn find(&self, name: &str) -> Option<&ModuleOption<'a>> {
        self.options.iter().find(|o| o.name == name)
    }

    /// The option the group cannot do without (`--mark` of `-m mark`, ...), or an error
    /// over the whole group saying what it needs.
    fn required(
        &mut self,
        name: &str,
        what: &'static str,
    ) -> Result<&mut ModuleOption<'a>, RuleError> {
        let (start, end) = (self.start, self.end);
        self.options
            .iter_mut()
            .find(|o| o.name == name)
            .ok_or_else(|| incomplete(start, end, what))
    }

    /// An error over the whole group saying what it lacks.
    fn incomplete(&self, what: &'static str) -> RuleError {
        incomplete(self.start, self.end, what)
    }
}

/// An error over one option.
fn option_error(option: &ModuleOption<'_>, kind: ParseErrorKind) -> RuleError {
    RuleError {
        kind,
        start: option.span.start as usize,
        end: option.span.end as usize,
    }
}

/// An error over a whole module or target, from `start` to `end`.
fn incomplete(start: usize, end: usize, what: &'static str) -> RuleError {
    RuleError {
        kind: ParseErrorKind::Incomplete(what),
        start,
        end,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values that the typed parser accepts after `option`, as many as it takes.
    fn sample_values(option: RuleOption) -> &'static [&'static str] {
        match option {
            RuleOption::Source | RuleOption::Destination => &["10.0.0.1"],
            RuleOption::Protocol => &["tcp"],
            RuleOption::InInterface | RuleOption::OutInterface => &["eth0"],
            // A module with no typed reading, which needs no option.
            RuleOption::Match => &["foo"],
            // Replaced by the `-j ACCEPT` after it.
            RuleOption::Jump | RuleOption::Goto => &["X"],
            RuleOption::Counters => &["1", "2"],
            RuleOption::Fragment | RuleOption::Family => &[],
        }
    }

    fn typed(args: &str) -> Result<RuleBody<'_>, RuleError> {
        let mut body = RuleBody::default();
        crate::parse::scan::words::split_words(args, 0, &mut body.words).unwrap();
        rule_args(&mut body).map(|()| body)
    }

    /// The jump scanner ([`crate::parse::scan::jump`]) counts a basic option's values by
    /// [`RuleOption::values`]: it must be what the typed parser takes, for every spelling of
    /// every option.
    #[test]
    fn every_basic_option_takes_the_words_its_values_say() {
        for spelling in [
            "-s",
            "--source",
            "--src",
            "-d",
            "--destination",
            "--dst",
            "-p",
            "--protocol",
            "-i",
            "--in-interface",
            "-o",
            "--out-interface",
            "-f",
            "--fragment",
            "-m",
            "--match",
            "-j",
            "--jump",
            "-g",
            "--goto",
            "-c",
            "--set-counters",
            "-4",
            "--ipv4",
            "-6",
            "--ipv6",
        ] {
            let option = RuleOption::named(spelling).expect(spelling);
            let values = sample_values(option);
            assert_eq!(option.values(), values.len(), "{spelling}");
            let whole = format!("{spelling} {} -j ACCEPT", values.join(" "));
            let body = typed(&whole).unwrap_or_else(|e| panic!("{whole}: {e:?}"));
            assert_eq!(body.target.map(|t| t.name), Some("ACCEPT"), "{whole}");
            if let Some((_, fewer)) = values.split_last() {
                let short = format!("{spelling} {}", fewer.join(" "));
                let error = typed(&short).expect_err(&short);
                assert_eq!(
                    error.kind,
                    ParseErrorKind::MissingValue(spelling.to_string()),
                    "{short}"
                );
            }
        }
    }

    #[test]
    fn other_words_name_no_basic_option() {
        for word in [
            "-",
            "--",
            "-x",
            "-S",
            "--sport",
            "--src-type",
            "--jumps",
            "-jj",
            "s",
            "",
        ] {
            assert_eq!(RuleOption::named(word), None, "{word}");
        }
    }
}
