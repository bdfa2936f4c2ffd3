//! The PNML reader on any bytes (plain or gzip): an error or a net, never a
//! panic, an abort or memory past the bounds; then a short exploration of
//! whatever net it read, with both engines.

#![no_main]

use libfuzzer_sys::fuzz_target;
use petrel::verify::{Engine, Options, analyse, pnml};

fuzz_target!(|data: &[u8]| {
    let Ok(net) = pnml::read(data, "fuzz.pnml", 1 << 20) else {
        return;
    };
    for engine in [Engine::Packed, Engine::Sparse] {
        let options = Options {
            max_states: 2_000,
            max_memory: 64 << 20,
            engine,
            ..Options::default()
        };
        analyse(&net, &options);
    }
});
