//! Model-based property test: random sequences of put / delete / batch /
//! reopen / compact applied to a store and to a `BTreeMap`, compared after
//! every step, with point-in-time reads checked against the model's past.

use std::collections::BTreeMap;

use dreamwork::store::{Durability, Store, StoreOptions};
use dreamwork::{MemoryPath, Timestamp};
use proptest::prelude::*;

type Model = BTreeMap<String, String>;

#[derive(Debug, Clone)]
enum Step {
    Put(u8, String),
    Delete(u8),
    Batch(Vec<(u8, Option<String>)>),
    Reopen,
    ReopenReadOnly,
    Compact,
    GetAt(u8, u16),
}

fn path(i: u8) -> MemoryPath {
    let name = ["/a", "/a/b", "/a/c.md", "/b", "/préférences/ä", "/z/1", "/z/2", "/zz"][usize::from(i % 8)];
    MemoryPath::new(name).expect("valid test path")
}

fn step() -> impl Strategy<Value = Step> {
    let content = "[a-z é\n]{0,24}";
    prop_oneof![
        4 => (any::<u8>(), content).prop_map(|(i, c)| Step::Put(i, c)),
        2 => any::<u8>().prop_map(Step::Delete),
        2 => prop::collection::vec((any::<u8>(), prop::option::of(content)), 0..6).prop_map(Step::Batch),
        1 => Just(Step::Reopen),
        1 => Just(Step::ReopenReadOnly),
        1 => Just(Step::Compact),
        1 => (any::<u8>(), any::<u16>()).prop_map(|(i, v)| Step::GetAt(i, v)),
    ]
}

fn state(store: &Store) -> Model {
    store.iter().map(|m| (m.path.to_string(), m.content.clone())).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn store_behaves_like_a_btreemap(steps in prop::collection::vec(step(), 1..40), batched in any::<bool>()) {
        let dir = tempfile::tempdir().expect("tempdir");
        let durability = if batched { Durability::Batched } else { Durability::Immediate };
        let options = StoreOptions::new().durability(durability).snapshot_after_log_bytes(Some(512));
        let mut store = options.create(dir.path()).expect("create");
        let mut model = Model::new();
        // The model's state after each version.
        let mut past = vec![Model::new()];
        let mut clock = 0;
        for step in steps {
            clock += 1;
            let at = Timestamp(clock);
            match step {
                Step::Put(i, content) => {
                    let v = store.put_at(&path(i), &content, at).expect("put");
                    model.insert(path(i).to_string(), content);
                    past.push(model.clone());
                    prop_assert_eq!(v as usize, past.len() - 1);
                }
                Step::Delete(i) => {
                    let v = store.delete_at(&path(i), at).expect("delete");
                    if model.remove(path(i).as_str()).is_some() {
                        past.push(model.clone());
                        prop_assert_eq!(v, Some(past.len() as u64 - 1));
                    } else {
                        prop_assert_eq!(v, None);
                    }
                }
                Step::Batch(changes) => {
                    let before = model.clone();
                    // The batch writes a version if, after last-change-wins,
                    // it puts anything or deletes a path that exists.
                    let last: BTreeMap<String, bool> =
                        changes.iter().map(|(i, c)| (path(*i).to_string(), c.is_some())).collect();
                    let writes = last.iter().any(|(p, put)| *put || before.contains_key(p));
                    let mut batch = store.batch();
                    for (i, change) in changes {
                        match change {
                            Some(content) => {
                                batch.put_at(&path(i), &content, at).expect("batch put");
                                model.insert(path(i).to_string(), content);
                            }
                            None => {
                                batch.delete_at(&path(i), at);
                                model.remove(path(i).as_str());
                            }
                        }
                    }
                    let v = batch.commit().expect("commit");
                    if writes {
                        past.push(model.clone());
                    }
                    prop_assert_eq!(v as usize, past.len() - 1);
                }
                Step::Reopen => {
                    drop(store);
                    store = options.open(dir.path()).expect("reopen");
                }
                Step::ReopenReadOnly => {
                    drop(store);
                    let reader = options.open_read_only(dir.path()).expect("read-only open");
                    prop_assert_eq!(state(&reader), model.clone());
                    drop(reader);
                    store = options.open(dir.path()).expect("reopen");
                }
                Step::Compact => store.compact().expect("compact"),
                Step::GetAt(i, v) => {
                    let v = u64::from(v) % (store.version() + 1);
                    let got = store.get_at(&path(i), v).expect("get_at").map(|m| m.content);
                    prop_assert_eq!(got, past[v as usize].get(path(i).as_str()).cloned());
                }
            }
            prop_assert_eq!(state(&store), model.clone());
            prop_assert_eq!(store.version() as usize, past.len() - 1);
        }
        // History of every path replays to its state in every past version.
        for i in 0..8 {
            let history = store.history(&path(i)).expect("history");
            for (version, then) in past.iter().enumerate() {
                let last = history.iter().rev().find(|r| r.version as usize <= version);
                let content = last.and_then(|r| r.memory.as_ref()).map(|m| m.content.clone());
                prop_assert_eq!(content, then.get(path(i).as_str()).cloned());
            }
        }
        drop(store);
        prop_assert!(Store::verify(dir.path()).expect("verify").is_ok());
    }
}
