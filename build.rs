//! Generates include/toykv.h from src/ffi/ with cbindgen, and gives the shared library its
//! soname so that programs link against `libtoykv.so.0`.
//!
//! The version macros come from Cargo.toml (the one version source), so the header, the
//! library's `toykv_version()` and the package can never disagree.

use std::env;
use std::path::PathBuf;

fn main() {
    let root =
        PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libtoykv.so.0");

    let mut config =
        cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("cbindgen.toml parses");
    let version =
        |part: &str| env::var(format!("CARGO_PKG_VERSION{part}")).expect("cargo sets the version");
    let macros = format!(
        "\n/** The version of this header; `toykv_version()` returns the library's. */\n\
         #define TOYKV_VERSION \"{}\"\n\
         #define TOYKV_VERSION_MAJOR {}\n\
         #define TOYKV_VERSION_MINOR {}\n\
         #define TOYKV_VERSION_PATCH {}\n",
        version(""),
        version("_MAJOR"),
        version("_MINOR"),
        version("_PATCH"),
    );
    config.after_includes = Some(config.after_includes.unwrap_or_default() + &macros);
    cbindgen::Builder::new()
        .with_crate(&root)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header")
        .write_to_file(root.join("include/toykv.h"));
}
