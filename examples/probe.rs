use dreamwork::embed::*;
use std::path::Path;
fn main() {
    let n: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(2);
    let t = std::time::Instant::now();
    let e = MiniLmEmbedder::from_paths(
        Path::new("/tmp/dwcache/all-MiniLM-L6-v2-int8"),
        Path::new("/tmp/dwcache/onnxruntime-1.24.4/libonnxruntime.so.1.24.4"),
        n,
    )
    .unwrap();
    println!("load {:?} {}", t.elapsed(), e.model_id());
    let a = e.embed(&["The cat sits on the mat."]).unwrap();
    let b = e
        .embed(&[
            "A cat is sitting on a mat.",
            "Stock markets fell sharply today.",
            "The cat sits on the mat.",
        ])
        .unwrap();
    println!("para {:.4} unrel {:.4} same-bits {}", cosine(&b[0], &a[0]), cosine(&b[1], &a[0]), a[0] == b[2]);
    let texts: Vec<String> = (0..400)
        .map(|i| {
            format!(
                "Memory number {i}: the staging database listens on port {} and deploys on fridays",
                5000 + i
            )
        })
        .collect();
    let refs: Vec<&str> = texts.iter().map(|s| s.as_str()).collect();
    let t = std::time::Instant::now();
    let v = e.embed(&refs).unwrap();
    println!("{} texts in {:?} = {:.0}/s", v.len(), t.elapsed(), v.len() as f64 / t.elapsed().as_secs_f64());
}
