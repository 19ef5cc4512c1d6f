use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use super::*;

/// x/mod's testHashStorage: every stored hash; it also checks that indexes come in
/// increasing order, as the functions under test promise.
struct Storage(Vec<Hash>);

impl HashReader for Storage {
    fn read_hashes(&self, indexes: &[i64]) -> Result<Vec<Hash>, TlogError> {
        assert!(
            indexes.windows(2).all(|w| w[0] < w[1]),
            "indexes out of order: {indexes:?}"
        );
        self.0.read_hashes(indexes)
    }
}

/// x/mod's testTilesStorage: tiles in memory, counting tiles read but not saved.
struct Tiles {
    m: RefCell<HashMap<Tile, Vec<u8>>>,
    unsaved: Cell<i64>,
}

impl TileReader for Tiles {
    fn height(&self) -> u32 {
        2
    }
    fn read_tiles(&self, tiles: &[Tile]) -> Result<Vec<Vec<u8>>, TlogError> {
        self.unsaved.set(self.unsaved.get() + tiles.len() as i64);
        Ok(tiles
            .iter()
            .map(|t| self.m.borrow().get(t).cloned().unwrap_or_default())
            .collect())
    }
    fn save_tiles(&self, tiles: &[Tile], _: &[Vec<u8>]) {
        self.unsaved.set(self.unsaved.get() - tiles.len() as i64);
    }
}

// x/mod's TestTree: trees of 1..100 leaves; stored hash counts, tiles (height 2) that
// extend one another, hashes from tiles, record and tree proofs (each corrupted hash
// refused), the same through a TileHashReader that saves every tile it read.
#[test]
fn trees_tiles_and_proofs_like_x_mod() {
    let mut trees = Vec::new();
    let mut leaf_hashes = Vec::new();
    let mut storage = Storage(Vec::new());
    let tiles = Tiles {
        m: RefCell::new(HashMap::new()),
        unsaved: Cell::new(0),
    };
    const H: u32 = 2;
    for i in 0..100i64 {
        let data = format!("leaf {i}");
        let hashes = stored_hashes(i, data.as_bytes(), &storage).unwrap();
        leaf_hashes.push(record_hash(data.as_bytes()));
        let old_storage = storage.0.len();
        storage.0.extend(hashes);
        assert_eq!(stored_hash_count(i + 1), storage.0.len() as i64);
        let th = tree_hash(i + 1, &storage).unwrap();

        for tile in new_tiles(H, i, i + 1) {
            let data = read_tile_data(&tile, &storage).unwrap();
            let old = Tile {
                w: tile.w - 1,
                ..tile
            };
            let m = tiles.m.borrow();
            let old_data = m.get(&old).cloned().unwrap_or_default();
            assert!(
                old_data.len() == data.len() - HASH_SIZE && data.starts_with(&old_data),
                "tile {} not extending earlier tile {}",
                tile.path(),
                old.path()
            );
            drop(m);
            tiles.m.borrow_mut().insert(tile, data);
        }
        for from in [0, i / 2] {
            for tile in new_tiles(H, from, i + 1) {
                let data = read_tile_data(&tile, &storage).unwrap();
                assert_eq!(tiles.m.borrow().get(&tile), Some(&data), "{tile:?}");
            }
        }
        for j in old_storage..storage.0.len() {
            let tile = tile_for_index(H, j as i64);
            let m = tiles.m.borrow();
            let data = m.get(&tile).expect("stored tile");
            assert_eq!(hash_from_tile(&tile, data, j as i64).unwrap(), storage.0[j]);
        }
        trees.push(th);

        for j in 0..=i {
            let mut p = prove_record(i + 1, j, &storage).unwrap();
            check_record(&p, i + 1, &th, j, &leaf_hashes[j as usize]).unwrap();
            for k in 0..p.len() {
                p[k].0[0] ^= 1;
                assert_eq!(
                    check_record(&p, i + 1, &th, j, &leaf_hashes[j as usize]),
                    Err(TlogError::ProofFailed)
                );
                p[k].0[0] ^= 1;
            }
        }

        let thr = TileHashReader::new(Tree { n: i + 1, hash: th }, &tiles);
        for j in 0..=i {
            let h = thr.read_hashes(&[stored_hash_index(0, j)]).unwrap();
            assert_eq!(h[0], leaf_hashes[j as usize]);
            let p = prove_record(i + 1, j, &thr).unwrap();
            check_record(&p, i + 1, &th, j, &leaf_hashes[j as usize]).unwrap();
        }
        assert_eq!(tiles.unsaved.get(), 0, "tree {}", i + 1);
        assert!(thr.read_hashes(&[(i + 1) * 2]).is_err());
        assert_eq!(tiles.unsaved.get(), 0);

        for j in 0..=i {
            assert_eq!(tree_hash(j + 1, &thr).unwrap(), trees[j as usize]);
            let mut p = prove_tree(i + 1, j + 1, &thr).unwrap();
            check_tree(&p, i + 1, &th, j + 1, &trees[j as usize]).unwrap();
            for k in 0..p.len() {
                p[k].0[0] ^= 1;
                assert_eq!(
                    check_tree(&p, i + 1, &th, j + 1, &trees[j as usize]),
                    Err(TlogError::ProofFailed)
                );
                p[k].0[0] ^= 1;
            }
        }
        assert_eq!(tiles.unsaved.get(), 0);
    }
}

// A tile that does not agree with the signed tree hash is refused and not saved.
#[test]
fn a_tampered_tile_is_refused_and_not_saved() {
    let mut storage = Vec::new();
    for i in 0..20i64 {
        let h = stored_hashes(i, format!("leaf {i}").as_bytes(), &storage).unwrap();
        storage.extend(h);
    }
    let th = tree_hash(20, &storage).unwrap();
    let tiles = Tiles {
        m: RefCell::new(HashMap::new()),
        unsaved: Cell::new(0),
    };
    for t in new_tiles(2, 0, 20) {
        let d = read_tile_data(&t, &storage).unwrap();
        tiles.m.borrow_mut().insert(t, d);
    }
    let thr = TileHashReader::new(Tree { n: 20, hash: th }, &tiles);
    thr.read_hashes(&[stored_hash_index(0, 5)]).unwrap();
    let t = tile_for_index(2, stored_hash_index(0, 5));
    let t = tiles
        .m
        .borrow()
        .keys()
        .find(|k| k.l == t.l && k.n == t.n)
        .copied()
        .unwrap();
    tiles.m.borrow_mut().get_mut(&t).unwrap()[0] ^= 1;
    let before = tiles.unsaved.get();
    assert_eq!(
        thr.read_hashes(&[stored_hash_index(0, 5)]),
        Err(TlogError::Other("downloaded inconsistent tile".into()))
    );
    assert!(tiles.unsaved.get() > before, "the tampered read was saved");
}

// x/mod's TestSplitStoredHashIndex.
#[test]
fn split_stored_hash_index_inverts_stored_hash_index() {
    for l in 0..10 {
        for n in 0..100 {
            assert_eq!(split_stored_hash_index(stored_hash_index(l, n)), (l, n));
        }
    }
}

// Values printed by Go (x/mod's tlog, the Debian copy, v0.7.0) for the records
// "record 0".."record 9"; the empty tree's hash is v0.19.0's (the go command's): v0.7.0
// returned the zero hash.
#[test]
fn exact_vectors_from_go() {
    let hs = |v: &[Hash]| v.iter().map(Hash::to_string).collect::<Vec<_>>();
    assert_eq!(
        record_hash(b"hello world").to_string(),
        "TszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0="
    );
    assert_eq!(
        tree_hash(0, &Vec::<Hash>::new()).unwrap().to_string(),
        "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
    );
    assert_eq!(
        (
            stored_hash_index(0, 5),
            stored_hash_index(3, 2),
            stored_hash_count(10)
        ),
        (8, 45, 18)
    );
    assert_eq!(tile_for_index(8, 1000).path(), "tile/8/0/001.p/248");
    let mut s: Vec<Hash> = Vec::new();
    for i in 0..10 {
        let h = stored_hashes(i, format!("record {i}").as_bytes(), &s).unwrap();
        s.extend(h);
    }
    assert_eq!(
        tree_hash(10, &s).unwrap().to_string(),
        "ScL6coIVctcBo/MIOXYsjCeIJSb7oEKdH8rYTClCT+A="
    );
    assert_eq!(
        hs(&prove_record(10, 3, &s).unwrap()),
        [
            "eQtCVVwoF8KPO6ujvYzB2nR8wC1umQQeZPjGJ0bPBTs=",
            "XDShEgWHfs8sTyjiVJXQgwGzPb+4YkGfeUb6b9+BJO8=",
            "lRyWiZopq/cMk3qFib3cTZyZRfuL5Qg9qRBWKkokwEg=",
            "c3tW4mV8OgmAgItaHIPSFpopeoNPeJiURVYDrH4LXro="
        ]
    );
    assert_eq!(
        hs(&prove_tree(10, 7, &s).unwrap()),
        [
            "dDMOxo77ghQfn3KW3M5XO3vuF+iZPoboIaT7hyVvgaA=",
            "RjXudHR7gs33amrwSpQUd7jtTDy87rnDqhg5DocnZYQ=",
            "0hDTO2hjmXA3kPUaINAqwbmrFLkQW1pDSk5J9JNxOGM=",
            "VQcmZi2PEzD1dmUTPcWs3MBK3Q2V32plYgXiT33KphE=",
            "c3tW4mV8OgmAgItaHIPSFpopeoNPeJiURVYDrH4LXro="
        ]
    );
}

// x/mod's TestFormatTree and TestParseTree.
#[test]
fn tree_notes_like_x_mod() {
    let h = record_hash(b"hello world");
    let golden =
        "go.sum database tree\n123456789012\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n";
    assert_eq!(
        format_tree(&Tree {
            n: 123456789012,
            hash: h
        }),
        golden
    );
    assert_eq!(
        parse_tree(golden.as_bytes()),
        Ok(Tree {
            n: 123456789012,
            hash: h
        })
    );
    for bad in [
        format!("not-{golden}"),
        "go.sum database tree\n0xabcdef\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n".into(),
        "go.sum database tree\n123456789012\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBTOOBIG=\n"
            .into(),
        "go.sum database tree\n0123\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n".into(),
        "go.sum database tree\n-1\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n".into(),
    ] {
        assert_eq!(
            parse_tree(bad.as_bytes()),
            Err(TlogError::MalformedTree),
            "{bad:?}"
        );
    }
    for good in [
        format!("{golden}JOE"),
        format!("{golden}JOE\n"),
        format!("{golden}{}", "JOE\n".repeat(1000)),
    ] {
        assert_eq!(parse_tree(good.as_bytes()).unwrap().n, 123456789012);
    }
    let mut junk = golden.as_bytes().to_vec();
    junk.extend_from_slice(b"\xff\x01");
    assert_eq!(parse_tree(&junk).unwrap().hash, h);
}

// x/mod's TestFormatRecord and TestParseRecord.
#[test]
fn records_like_x_mod() {
    assert_eq!(
        format_record(123456789012, b"hello, world\n").unwrap(),
        b"123456789012\nhello, world\n\n"
    );
    for bad in [
        &b""[..],
        b"hello\nworld",
        b"hello\n\nworld\n",
        b"hello\x01world\n",
    ] {
        assert_eq!(
            format_record(1, bad),
            Err(TlogError::MalformedRecord),
            "{bad:?}"
        );
    }
    let (id, text, rest) =
        parse_record(b"123456789012\nhello, world\n\njunk on end\x01\xff").unwrap();
    assert_eq!(
        (id, text, rest),
        (
            123456789012,
            &b"hello, world\n"[..],
            &b"junk on end\x01\xff"[..]
        )
    );
    let (_, _, rest) = parse_record(b"123456789012\nhello, world\n\n").unwrap();
    assert!(rest.is_empty());
    for bad in [
        &b"not-123456789012\nhello, world\n\n"[..],
        b"123\nhello\x01world\n\n",
        b"123\nhello\xffworld\n\n",
        b"123\nhello world\n",
        b"0x123\nhello world\n\n",
    ] {
        assert_eq!(
            parse_record(bad),
            Err(TlogError::MalformedRecord),
            "{bad:?}"
        );
    }
}
