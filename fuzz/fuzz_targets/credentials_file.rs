//! The encrypted credentials file: any bytes are refused with an error naming the file, never a
//! panic (a tampered header cannot demand unbounded scrypt work either).
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use secrecy::SecretString;
use tradeengine_engine::credentials::CredentialsFile;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = CredentialsFile::decrypt(Path::new("fuzz.age"), data, &SecretString::from("pw"))
    {
        assert!(e.to_string().contains("fuzz.age"));
    }
});
