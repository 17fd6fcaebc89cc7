//! Rendering the seed's example app (the README's jupyterlab config): validation and
//! render separately, and the whole in-memory path to YAML text.

// A benchmark may unwrap: a panic stops it, which is what a broken input should do.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// criterion_main! writes an undocumented `main`.
#![allow(missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};
use maia_spec::LoadOptions;
use maia_spec::app::MountFileContents;

fn example() -> String {
    let path = format!(
        "{}/../../examples/app/jupyterlab.json",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(path).expect("example app config")
}

fn bench(c: &mut Criterion) {
    let text = example();
    let files = MountFileContents::new();
    let spec = maia_spec::app::load_str("app.json", &text, LoadOptions::default())
        .expect("valid")
        .spec;

    c.bench_function("app/validate", |b| {
        b.iter(|| {
            maia_spec::app::load_str(
                "app.json",
                std::hint::black_box(&text),
                LoadOptions::default(),
            )
            .expect("valid")
        })
    });
    c.bench_function("app/render", |b| {
        b.iter(|| maia_render::app::render(std::hint::black_box(&spec), &files).expect("renders"))
    });
    c.bench_function("app/validate+render+yaml", |b| {
        b.iter(|| {
            let app = maia_spec::app::load_str(
                "app.json",
                std::hint::black_box(&text),
                LoadOptions::default(),
            )
            .expect("valid");
            let objects = maia_render::app::render(&app.spec, &files).expect("renders");
            maia_render::to_yaml_stream(&objects).expect("serialises")
        })
    });
    c.bench_function("app/helm_values", |b| {
        b.iter(|| maia_render::app::helm_values(std::hint::black_box(&spec)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
