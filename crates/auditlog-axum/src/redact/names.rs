//! Matching payload keys against the deny and allow lists by normalized
//! name.

use aho_corasick::AhoCorasick;

/// Entries this short match whole words of a key only: `pin` must not hit
/// `shipping`, nor `auth` hit `author`.
const WHOLE_WORD_MAX: usize = 4;

/// A key as the lists see it: lower-case, without `-`, `_`, `.` and spaces.
pub(crate) fn normalize(key: &str) -> String {
    key.chars()
        .filter(|c| !matches!(c, '-' | '_' | '.' | ' '))
        .flat_map(char::to_lowercase)
        .collect()
}

/// The lower-case words of a key: split at anything not alphanumeric, at
/// camelCase humps (`newPassword`, `userPINCode`) and between letters and
/// digits (`cvv2`).
fn words(key: &str) -> Vec<String> {
    let chars: Vec<char> = key.chars().collect();
    let mut words = Vec::new();
    let mut current = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            continue;
        }
        let prev = i.checked_sub(1).map(|j| chars[j]);
        if let Some(prev) = prev.filter(|p| p.is_alphanumeric()) {
            let next = chars.get(i + 1).copied();
            let hump = prev.is_lowercase() && c.is_uppercase();
            let acronym_end =
                prev.is_uppercase() && c.is_uppercase() && next.is_some_and(char::is_lowercase);
            let letter_digit = prev.is_alphabetic() != c.is_alphabetic();
            if (hump || acronym_end || letter_digit) && !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
        }
        current.extend(c.to_lowercase());
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// A key prepared for matching.
#[derive(Debug, Clone, Default)]
pub(crate) struct Name {
    normalized: String,
    words: Vec<String>,
}

impl Name {
    pub(crate) fn new(key: &str) -> Self {
        Name {
            normalized: normalize(key),
            words: words(key),
        }
    }

    /// `parent` and `child` read as one name: `card` + `number` is
    /// `cardnumber`. Only the parent's tail is kept: a match inside the
    /// parent alone would have redacted it, and one across the junction
    /// needs fewer than `longest` of its characters and `WHOLE_WORD_MAX`
    /// of its words. Bounded so that a huge key over many children costs
    /// no more than the children.
    fn joined(parent: &Name, child: &Name, longest: usize) -> Name {
        let chars = parent.normalized.chars().count();
        let tail: String = parent
            .normalized
            .chars()
            .skip(chars.saturating_sub(longest.saturating_sub(1)))
            .collect();
        let words = &parent.words[parent.words.len().saturating_sub(WHOLE_WORD_MAX)..];
        Name {
            normalized: tail + &child.normalized,
            words: words.iter().chain(&child.words).cloned().collect(),
        }
    }

    /// Whether consecutive words of the name spell `entry` exactly.
    fn has_words(&self, entry: &str) -> bool {
        (0..self.words.len()).any(|start| {
            // What of `entry` the words from `start` have yet to spell.
            let mut rest = entry;
            for word in &self.words[start..] {
                if word.len() >= rest.len() {
                    return word == rest;
                }
                match rest.strip_prefix(word.as_str()) {
                    Some(after) => rest = after,
                    None => return false,
                }
            }
            false
        })
    }
}

/// One deny-list entry, normalized.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    name: String,
    whole_words: bool,
}

impl Entry {
    fn new(raw: &str) -> Option<Self> {
        let name = normalize(raw);
        let whole_words = name.chars().count() <= WHOLE_WORD_MAX;
        (!name.is_empty()).then_some(Entry { name, whole_words })
    }

    fn matches(&self, name: &Name) -> bool {
        if self.whole_words {
            name.has_words(&self.name)
        } else {
            name.normalized.contains(&self.name)
        }
    }
}

/// The deny list (normalized entries, matched anywhere in a normalized key,
/// short ones as whole words) and the allow list (exact normalized keys
/// that are never redacted by name).
#[derive(Debug, Clone, Default)]
pub(crate) struct Names {
    deny: Vec<Entry>,
    /// The deny entries matched anywhere, as one automaton: one pass over a
    /// key instead of a substring search per entry. Rebuilt whenever the
    /// list changes; `None` (never built, or the build failed) searches
    /// entry by entry instead, with the same result.
    anywhere: Option<AhoCorasick>,
    allow: Vec<String>,
    /// The longest deny entry, in characters: kept, not counted per key.
    longest: usize,
}

impl Names {
    pub(crate) fn new<D, A>(deny: D, allow: A) -> Self
    where
        D: IntoIterator,
        D::Item: AsRef<str>,
        A: IntoIterator,
        A::Item: AsRef<str>,
    {
        let mut names = Names::default();
        names.set_deny(deny);
        allow.into_iter().for_each(|a| names.allow(a.as_ref()));
        names
    }

    pub(crate) fn set_deny<I>(&mut self, deny: I)
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        self.deny.clear();
        self.longest = 0;
        for raw in deny {
            self.add_deny(raw.as_ref());
        }
        self.build_anywhere();
    }

    pub(crate) fn set_allow<I>(&mut self, allow: I)
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        self.allow.clear();
        allow.into_iter().for_each(|a| self.allow(a.as_ref()));
    }

    pub(crate) fn deny(&mut self, raw: &str) {
        if self.add_deny(raw) {
            self.build_anywhere();
        }
    }

    /// Adds an entry to the list (not to the automaton); whether it was new.
    fn add_deny(&mut self, raw: &str) -> bool {
        let Some(entry) = Entry::new(raw).filter(|e| !self.deny.contains(e)) else {
            return false;
        };
        self.longest = self.longest.max(entry.name.chars().count());
        self.deny.push(entry);
        true
    }

    fn build_anywhere(&mut self) {
        let anywhere = self.deny.iter().filter(|e| !e.whole_words);
        self.anywhere = AhoCorasick::new(anywhere.map(|e| &e.name)).ok();
    }

    /// Whether a deny entry matches `name`.
    fn any_entry_matches(&self, name: &Name) -> bool {
        let Some(anywhere) = &self.anywhere else {
            return self.deny.iter().any(|entry| entry.matches(name));
        };
        anywhere.is_match(&name.normalized)
            || self
                .deny
                .iter()
                .any(|entry| entry.whole_words && entry.matches(name))
    }

    pub(crate) fn allow(&mut self, raw: &str) {
        let name = normalize(raw);
        if !name.is_empty() && !self.allow.contains(&name) {
            self.allow.push(name);
        }
    }

    /// Whether the allow list names `name`.
    pub(crate) fn allows(&self, name: &Name) -> bool {
        self.allow.contains(&name.normalized)
    }

    /// Whether the value under `name` is redacted: the key is not allowed,
    /// and it matches the deny list alone or read together with its
    /// parent's key (`{"card": {"number": ...}}`).
    pub(crate) fn denies(&self, name: &Name, parent: Option<&Name>) -> bool {
        if self.allows(name) {
            return false;
        }
        if self.any_entry_matches(name) {
            return true;
        }
        parent.is_some_and(|parent| {
            let joined = Name::joined(parent, name, self.longest);
            self.any_entry_matches(&joined)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redact::{DEFAULT_REDACT_ALLOW_KEYS, DEFAULT_REDACT_KEYS};

    fn defaults() -> Names {
        Names::new(DEFAULT_REDACT_KEYS, DEFAULT_REDACT_ALLOW_KEYS)
    }

    fn denied(key: &str) -> bool {
        defaults().denies(&Name::new(key), None)
    }

    /// `has_words` as first written: spell from each word until long
    /// enough, then compare.
    fn spelled_from_some_word(name: &Name, entry: &str) -> bool {
        (0..name.words.len()).any(|start| {
            let mut spelled = String::new();
            for word in &name.words[start..] {
                spelled.push_str(word);
                if spelled.len() >= entry.len() {
                    return spelled == entry;
                }
            }
            false
        })
    }

    /// `denies` as it was before the automaton: entry by entry.
    fn denied_entry_by_entry(names: &Names, name: &Name, parent: Option<&Name>) -> bool {
        let any = |name: &Name| names.deny.iter().any(|entry| entry.matches(name));
        !names.allows(name)
            && (any(name) || parent.is_some_and(|p| any(&Name::joined(p, name, names.longest))))
    }

    #[test]
    fn the_automaton_denies_exactly_what_the_entries_one_by_one_did() {
        let mut names = defaults();
        names.deny("X-Internal-Secret");
        names.deny("pin");
        let mut keys: Vec<String> = [
            "",
            "a",
            "name",
            "shipping",
            "author",
            "orderId",
            "number",
            "ÄpfelPin",
            "cardNumber",
            "token2",
            "userPINCode",
            "pinCode",
            "internal",
            "x_internal_secret_id",
        ]
        .map(String::from)
        .to_vec();
        for entry in DEFAULT_REDACT_KEYS.iter().chain(DEFAULT_REDACT_ALLOW_KEYS) {
            let cut = entry.char_indices().last().map_or(0, |(i, _)| i);
            keys.extend([
                entry.to_string(),
                entry.to_uppercase(),
                format!("my_{entry}"),
                format!("{entry}Value"),
                entry[..cut].to_string(),
            ]);
        }
        let parents = [
            None,
            Some("card"),
            Some("user"),
            Some("api"),
            Some("x-internal"),
        ];
        let (mut denied, mut kept) = (0, 0);
        for key in &keys {
            let name = Name::new(key);
            for parent in parents {
                let parent = parent.map(Name::new);
                let got = names.denies(&name, parent.as_ref());
                let expected = denied_entry_by_entry(&names, &name, parent.as_ref());
                assert_eq!(got, expected, "{key:?} under {parent:?}");
                if got {
                    denied += 1;
                } else {
                    kept += 1;
                }
            }
        }
        assert!(denied > 100 && kept > 100, "{denied} denied, {kept} kept");
        // Without the automaton (a failed build): the same, entry by entry.
        let fallback = Names {
            anywhere: None,
            ..names.clone()
        };
        for key in &keys {
            let name = Name::new(key);
            assert_eq!(
                fallback.denies(&name, None),
                names.denies(&name, None),
                "{key:?}"
            );
        }
    }

    /// Random keys, parents and user entries built from pieces of the
    /// lists, separators, case changes and characters whose lower case is
    /// odd (dotless and dotted i, sharp s, the Kelvin sign, full-width
    /// letters, final sigma): the automaton and the entry-by-entry search
    /// must agree on every one.
    #[test]
    fn the_automaton_agrees_with_the_entries_over_random_keys_and_user_lists() {
        let mut state = 0x853c_49e6_748f_ea9bu64;
        let mut next = move |below: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % below as u64) as usize
        };
        let mut pieces: Vec<String> = DEFAULT_REDACT_KEYS
            .iter()
            .chain(DEFAULT_REDACT_ALLOW_KEYS)
            .map(|e| e.to_string())
            .collect();
        pieces.extend(
            [
                "pass",
                "word",
                "Pass_Word",
                "pass-word",
                "PASSWORD",
                "to",
                "ken",
                "se",
                "cret",
                "ı",
                "İ",
                "ß",
                "SS",
                "ẞ",
                "\u{212a}ey",
                "ＰＡＳＳ",
                "ｐｉｎ",
                "σ",
                "ς",
                "Σ",
                "é",
                "2",
                "_",
                "-",
                ".",
                " ",
                "x",
                "card",
                "num",
                "ber",
                "pin",
                "PIN",
                "auth",
                "or",
                "api",
                "Key",
                "cvv",
            ]
            .map(String::from),
        );
        let piece = |next: &mut dyn FnMut(usize) -> usize| {
            let p = &pieces[next(pieces.len())];
            match next(4) {
                0 => p.to_uppercase(),
                1 => p.to_lowercase(),
                2 => {
                    // Cut at a random character.
                    let cut = p
                        .char_indices()
                        .nth(next(p.chars().count().max(1)))
                        .map_or(p.len(), |(i, _)| i);
                    p[cut..].to_string()
                }
                _ => p.clone(),
            }
        };
        let key = |next: &mut dyn FnMut(usize) -> usize| -> String {
            let parts = 1 + next(5);
            (0..parts).map(|_| piece(next)).collect()
        };
        let (mut denied, mut kept) = (0, 0);
        for round in 0..40 {
            let mut names = defaults();
            // The user's own entries: pieces, some prefixes or suffixes of
            // others, some short (whole words), some not ASCII.
            for _ in 0..next(8) {
                names.deny(&key(&mut next));
            }
            for _ in 0..next(3) {
                names.allow(&key(&mut next));
            }
            if round % 5 == 0 {
                let entries: Vec<String> = (0..1 + next(6)).map(|_| key(&mut next)).collect();
                names.set_deny(&entries);
            }
            let fallback = Names {
                anywhere: None,
                ..names.clone()
            };
            for _ in 0..500 {
                let mut raw = key(&mut next);
                if next(50) == 0 {
                    raw = raw.repeat(200);
                }
                let name = Name::new(&raw);
                let parent = (next(2) == 0).then(|| Name::new(&key(&mut next)));
                let got = names.denies(&name, parent.as_ref());
                let expected = denied_entry_by_entry(&names, &name, parent.as_ref());
                assert_eq!(
                    got, expected,
                    "{raw:?} under {parent:?} with {:?}",
                    names.deny
                );
                assert_eq!(fallback.denies(&name, parent.as_ref()), got, "{raw:?}");
                if got {
                    denied += 1;
                } else {
                    kept += 1;
                }
            }
        }
        assert!(denied > 2000 && kept > 2000, "{denied} denied, {kept} kept");
    }

    #[test]
    fn whole_words_match_as_they_did_when_spelled_out() {
        let keys = [
            "userPINCode",
            "pin",
            "pinpin",
            "shipping",
            "authorName",
            "auth_token",
            "x-api-key",
            "apiKey2",
            "cvv2",
            "card_cvv2",
            "a",
            "",
            "ÄpfelPin",
            "pinCode",
            "codePin",
            "p_i_n",
        ];
        let entries = [
            "pin", "auth", "api", "cvv", "cvv2", "pinc", "code", "a", "key", "äpfel",
        ];
        for key in keys {
            let name = Name::new(key);
            for entry in entries {
                assert_eq!(
                    name.has_words(entry),
                    spelled_from_some_word(&name, entry),
                    "{key:?} against {entry:?}"
                );
            }
        }
    }

    #[test]
    fn words_split_at_separators_humps_acronyms_and_digits() {
        assert_eq!(words("newPassword"), ["new", "password"]);
        assert_eq!(words("userPINCode"), ["user", "pin", "code"]);
        assert_eq!(words("card_cvv2"), ["card", "cvv", "2"]);
        assert_eq!(words("X-Api-Key"), ["x", "api", "key"]);
        assert_eq!(words("shipping"), ["shipping"]);
    }

    #[test]
    fn secrets_are_found_inside_longer_names() {
        for key in [
            "access_token",
            "client_secret",
            "refresh-token",
            "newPassword",
            "card_number",
            "CVV",
            "cardCvc",
            "x-api-key",
            "Set-Cookie",
            "sessionId",
            "privateKey",
            "user.pin",
            "PIN",
            "ssn",
            "national_id",
            "Authorization",
            "basicAuth",
            "passphrase",
            "credentials",
            "exp_month",
            "cardcvv",
        ] {
            assert!(denied(key), "{key} is not redacted");
        }
    }

    #[test]
    fn ordinary_words_and_allowed_names_are_kept() {
        for key in [
            "shipping",
            "tokenType",
            "token_type",
            "passwordPolicy",
            "author",
            "spinner",
            "company",
            "item",
            "quantity",
            "description",
        ] {
            assert!(!denied(key), "{key} is redacted");
        }
    }

    #[test]
    fn a_parent_key_completes_its_child() {
        let names = defaults();
        let card = Name::new("card");
        assert!(names.denies(&Name::new("number"), Some(&card)));
        assert!(!names.denies(&Name::new("holder"), Some(&card)));
        assert!(!names.denies(&Name::new("number"), Some(&Name::new("order"))));
        // Across the junction of a long parent, by letters and by words.
        let long = Name::new(&format!("{}Credit", "x".repeat(1000)));
        assert!(names.denies(&Name::new("card"), Some(&long)));
        let words = Name::new(&format!("{}_user", "a_".repeat(500)));
        assert!(names.denies(&Name::new("pin"), Some(&words)));
        assert!(!names.denies(&Name::new("ping"), Some(&words)));
    }

    #[test]
    fn users_extend_both_lists() {
        let mut names = defaults();
        names.deny("order-note");
        names.allow("session_count");
        assert!(names.denies(&Name::new("orderNote"), None));
        assert!(!names.denies(&Name::new("sessionCount"), None));
        assert!(names.denies(&Name::new("sessionToken"), None));
    }
}
