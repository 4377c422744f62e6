use super::*;

fn vectors(text: &str, dimension: usize) -> WordVectors {
    let words: Vec<String> = text.split_whitespace().map(str::to_lowercase).collect();
    let value = |i: usize, j: usize| (i * 31 + j * 7 + text.len()) as f32 / 97.0 - 0.5;
    WordVectors {
        data: (0..words.len() * dimension).map(|k| value(k / dimension, k % dimension)).collect(),
        sentence: (0..dimension).map(|j| value(999, j) * 1e-7).collect(),
        words,
        dimension,
    }
}

fn entries(texts: &[&str], dimension: usize) -> Vec<(ContentHash, WordVectors)> {
    texts.iter().map(|t| (ContentHash::of(t.as_bytes()), vectors(t, dimension))).collect()
}

fn refs(e: &[(ContentHash, WordVectors)]) -> Vec<(ContentHash, &WordVectors)> {
    e.iter().map(|(h, v)| (*h, v)).collect()
}

#[test]
fn word_vectors_round_trip_through_the_file_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    let mut tricky = vectors("Ünïcode wörds — and a NaN", 5);
    tricky.data[3] = f32::NAN;
    tricky.data[4] = -0.0;
    tricky.sentence[0] = f32::MIN_POSITIVE / 4.0; // subnormal
    let mut all = entries(&["The staging DB listens on 5433", "", "one"], 5);
    all.push((ContentHash::of(b"tricky"), tricky));
    let (mut w, empty) = WordCacheWriter::open_shared(dir.path(), "m", 5).unwrap();
    assert!(empty.is_empty());
    assert_eq!(w.append(&refs(&all)).unwrap(), 4);
    assert_eq!(w.append(&refs(&all)).unwrap(), 0, "nothing is written twice");
    drop(w);
    let (_, cache) = WordCacheWriter::open_shared(dir.path(), "m", 5).unwrap();
    assert_eq!(cache.len(), 4);
    for (hash, expected) in &all {
        let got = cache.get(hash).unwrap();
        assert_eq!(got.words, expected.words);
        assert_eq!(got.dimension, 5);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&got.data), bits(&expected.data));
        assert_eq!(bits(&got.sentence), bits(&expected.sentence));
    }
    assert!(cache.get(&ContentHash::of(b"absent")).is_none());
}

#[test]
fn wrong_shapes_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (mut w, _) = WordCacheWriter::open_shared(dir.path(), "m", 4).unwrap();
    let mut v = vectors("a b", 4);
    v.data.pop();
    let r = w.append(&[(ContentHash::of(b"a b"), &v)]);
    assert!(matches!(r, Err(CacheError::Dimension { expected: 4, .. })), "{r:?}");
    let v = vectors("a b", 3);
    assert!(w.append(&[(ContentHash::of(b"a b"), &v)]).is_err());
}

#[test]
fn torn_tails_are_ignored_then_cut_and_middle_damage_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let all = entries(&["alpha beta", "gamma", "delta epsilon zeta"], 3);
    let (mut w, _) = WordCacheWriter::open_shared(dir.path(), "m", 3).unwrap();
    w.append(&refs(&all)).unwrap();
    drop(w);
    let path = dir.path().join(file_name("m"));
    let full = std::fs::read(&path).unwrap();
    let d = decode(&full, "m", 3).unwrap();
    assert_eq!(d.frames.len(), 3);
    assert_eq!(d.valid_len as usize, full.len());
    let ends: Vec<usize> = d.frames.iter().map(|(_, r)| r.end).collect();
    for cut in 0..full.len() {
        let part = decode(&full[..cut], "m", 3).unwrap();
        assert_eq!(part.frames.len(), ends.iter().filter(|&&e| e <= cut).count(), "cut at {cut}");
    }
    // Zeros after the frames (the file grew, its data never came).
    let mut zeros = full.clone();
    zeros.extend_from_slice(&[0; 100]);
    assert_eq!(decode(&zeros, "m", 3).unwrap().valid_len as usize, full.len());
    // A flipped bit in the last frame is a torn tail, cut by a writer.
    let mut last = full.clone();
    let n = last.len();
    last[n - 1] ^= 1;
    std::fs::write(&path, &last).unwrap();
    let (_, cache) = WordCacheWriter::open_shared(dir.path(), "m", 3).unwrap();
    assert_eq!(cache.len(), 2);
    assert_eq!(std::fs::metadata(&path).unwrap().len() as usize, ends[1]);
    // A flipped bit in the first frame, with frames after it, is corruption.
    let mut mid = full.clone();
    let first = d.frames[0].1.start;
    mid[first + 40] ^= 0x40;
    std::fs::write(&path, &mid).unwrap();
    let err = WordCacheWriter::open_shared(dir.path(), "m", 3).unwrap_err();
    let msg = err.to_string();
    let offset = (first - FRAME_HEADER) as u64;
    assert!(matches!(err, CacheError::Corrupt { offset: o, .. } if o == offset), "{msg}");
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert_eq!(std::fs::read(&path).unwrap(), mid, "a damaged file is left as it is");
}

#[test]
fn foreign_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(file_name("m"));
    std::fs::write(&path, super::super::cache::header("m", 3)).unwrap();
    let err = WordCacheWriter::open_shared(dir.path(), "m", 3).unwrap_err();
    assert!(matches!(err, CacheError::Foreign { .. }), "a pooled cache file is not a word cache: {err}");
    std::fs::write(&path, header("m", 4)).unwrap();
    assert!(
        WordCacheWriter::open_shared(dir.path(), "m", 3).unwrap_err().to_string().contains("dimension 4")
    );
    std::fs::write(&path, &header("m", 3)[..9]).unwrap();
    assert!(WordCacheWriter::open_shared(dir.path(), "m", 3).unwrap().1.is_empty());
    assert_eq!(std::fs::read(&path).unwrap(), header("m", 3), "a torn header is rewritten");
}

#[test]
fn shared_writers_skip_what_others_wrote_and_frames_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let all = entries(&["a", "b c", "d e f"], 2);
    let (mut one, _) = WordCacheWriter::open_shared(dir.path(), "m", 2).unwrap();
    let (mut two, _) = WordCacheWriter::open_shared(dir.path(), "m", 2).unwrap();
    assert_eq!(one.append(&refs(&all[..1])).unwrap(), 1);
    // Half a frame, as a writer killed mid-append leaves.
    let mut half = Vec::new();
    assert!(encode_frame(&mut half, &all[2].0, &all[2].1));
    std::fs::OpenOptions::new().append(true).open(one.path()).unwrap().write_all(&half[..20]).unwrap();
    assert_eq!(two.append(&refs(&all[..2])).unwrap(), 1, "a was written by the other writer");
    let path = one.path().to_owned();
    let mut file = File::open(&path).unwrap();
    let len = file.metadata().unwrap().len();
    assert_eq!(frame_count(&mut file, header("m", 2).len(), len).unwrap(), 2);
    let (_, cache) = WordCacheWriter::open_shared(dir.path(), "m", 2).unwrap();
    assert_eq!(cache.get(&all[1].0), Some(all[1].1.clone()));
    assert_eq!(cache.len(), 2);
    assert_eq!(parse_header(&std::fs::read(&path).unwrap()).map(|h| h.1), Some(2));
}
