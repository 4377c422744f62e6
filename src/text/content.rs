//! Content words: what a text is about, as sets two texts can share — its
//! [`words()`](super::words()) without grammar, update cues and auxiliaries, compared by
//! [`stem`]. Stage 5 finds the session turns that bear on a question with
//! them, and the local resolver the member a stated change names.

use super::{Lexicon, Word, stem, words};

/// One content word.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ContentWord {
    /// What it is compared by: the stem of an alphabetic word, else the word.
    pub key: String,
    /// The word as [`words()`](super::words()) reads it (for showing it to a reader).
    pub text: String,
}

/// The content words of `text`, in text order (see the module doc).
pub fn content_words(text: &str, lexicon: &Lexicon) -> Vec<ContentWord> {
    content(&words(text, lexicon), lexicon)
}

/// The content words of a word sequence.
fn content(words: &[Word], lexicon: &Lexicon) -> Vec<ContentWord> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let w = &words[i].text;
        if let Some(next) = words.get(i + 1)
            && lexicon.cue_pairs.contains(&(w.clone(), next.text.clone()))
        {
            i += 2;
            continue;
        }
        i += 1;
        if lexicon.grammar.contains(w) || lexicon.cues.contains(w) || lexicon.auxiliaries.contains(w) {
            continue;
        }
        let key = if w.chars().all(char::is_alphabetic) { stem(w) } else { w.clone() };
        out.push(ContentWord { key, text: w.clone() });
    }
    out
}

/// The new value a text says something changed to, as a content word: the
/// `Y` of "… from X to Y" or "Y instead of X", or the first content word
/// after "to" that follows an update cue within a few words ("we switched
/// the CI to Jenkins"). `None` when the text states no change.
pub fn stated_target(text: &str, lexicon: &Lexicon) -> Option<ContentWord> {
    let ws = words(text, lexicon);
    let is = |i: usize, word: &str| ws.get(i).is_some_and(|w| w.text == word);
    let first_after = |at: usize| content(ws.get(at..).unwrap_or_default(), lexicon).into_iter().next();
    if let Some(to) = (0..ws.len())
        .find_map(|i| (is(i, "from")).then(|| (i + 2..ws.len().min(i + 6)).find(|&j| is(j, "to")))?)
    {
        return first_after(to + 1);
    }
    if let Some(k) = (1..ws.len()).find(|&k| is(k, "instead") && is(k + 1, "of")) {
        return content(&ws[..k], lexicon).pop();
    }
    let cue = ws.iter().position(|w| lexicon.cues.contains(&w.text))?;
    let to = (cue + 1..ws.len().min(cue + 9)).find(|&j| is(j, "to"))?;
    first_after(to + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content(text: &str) -> Vec<String> {
        content_words(text, Lexicon::built_in()).into_iter().map(|w| w.key).collect()
    }

    fn target(text: &str) -> Option<String> {
        stated_target(text, Lexicon::built_in()).map(|w| w.text)
    }

    #[test]
    fn content_words_fold_spellings_inflections_and_units() {
        let written: Vec<String> =
            content_words("Deploys on Fridays", &Lexicon::default()).into_iter().map(|w| w.text).collect();
        assert_eq!(written, ["deploys", "fridays"]);
        assert_eq!(
            content("The staging DB listens on port 5433."),
            ["stage", "databas", "listen", "port", "5433"]
        );
        assert_eq!(content("Deploys happen on Fridays"), content("deploy happens on friday"));
        assert_eq!(content("timeout is 30 seconds"), content("timeout: 30s"));
        assert_eq!(content("Billing moved from Postgres to MySQL"), ["bill", "postgr", "mysql"]);
        assert_eq!(content("We no longer deploy"), ["deploy"]);
    }

    #[test]
    fn stated_targets() {
        assert_eq!(target("We switched the shop CI to Jenkins last week").as_deref(), Some("jenkins"));
        assert_eq!(target("billing moved from MySQL to Postgres").as_deref(), Some("postgres"));
        assert_eq!(target("Use pnpm instead of npm").as_deref(), Some("pnpm"));
        assert_eq!(target("The shop CI runs on Jenkins"), None);
        assert_eq!(target("send it to Jenkins"), None);
    }
}
