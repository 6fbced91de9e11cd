//! What the build settings assume about the source, checked so that a
//! setting that saves CI time cannot hide a test.

/// `[[bin]] test = false` in Cargo.toml skips a unit-test build of the
/// binary: right only while src/main.rs holds no test and no module (a
/// module's tests would be skipped too).
#[test]
fn the_binary_has_no_tests_of_its_own() {
    let main = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/main.rs"))
        .expect("src/main.rs");
    for (n, line) in main.lines().enumerate() {
        let code = line.trim_start();
        assert!(
            !code.starts_with("mod ")
                && !code.starts_with("pub mod ")
                && !code.contains("#[test]")
                && !code.contains("#[cfg(test)]")
                && !code.contains("#[tokio::test"),
            "src/main.rs:{}: `{}`: tests or modules in the binary need `test = true` \
             under [[bin]] in Cargo.toml",
            n + 1,
            line.trim()
        );
    }
}
