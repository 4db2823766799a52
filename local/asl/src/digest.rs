//! The hashes `States.Hash` and JSONata's `$hash` offer, by the names both take (`MD5`,
//! `SHA-1`, `SHA-256`, `SHA-384`, `SHA-512`), from the RustCrypto crates. MD5 and SHA-1 are
//! there for content hashing as Step Functions offers them, never for security.

/// The names of the algorithms, as the error messages list them.
pub const ALGORITHMS: &str = "MD5, SHA-1, SHA-256, SHA-384, SHA-512";

/// The lower-case hexadecimal digest of `data` under `algorithm`; `None` for a name that is
/// not one of [`ALGORITHMS`].
pub fn hex_digest(algorithm: &str, data: &[u8]) -> Option<String> {
    Some(match algorithm {
        "MD5" => hex(&<md5::Md5 as md5::Digest>::digest(data)),
        "SHA-1" => hex(&<sha1::Sha1 as sha1::Digest>::digest(data)),
        "SHA-256" => hex(&<sha2::Sha256 as sha2::Digest>::digest(data)),
        "SHA-384" => hex(&<sha2::Sha384 as sha2::Digest>::digest(data)),
        "SHA-512" => hex(&<sha2::Sha512 as sha2::Digest>::digest(data)),
        _ => return None,
    })
}

/// Lower-case hexadecimal.
fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Known digests of each algorithm, and an unknown name refused.
    #[test]
    fn known_digests() {
        for (alg, data, want) in [
            ("MD5", "input data", "812f45842bc6d66ee14572ce20db8e86"),
            ("MD5", "", "d41d8cd98f00b204e9800998ecf8427e"),
            (
                "SHA-1",
                "input data",
                "aaff4a450a104cd177d28d18d74485e8cae074b7",
            ),
            (
                "SHA-256",
                "",
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            ),
        ] {
            assert_eq!(
                hex_digest(alg, data.as_bytes()).as_deref(),
                Some(want),
                "{alg} {data:?}"
            );
        }
        assert_eq!(hex_digest("SHA-384", b"").map(|h| h.len()), Some(96));
        assert_eq!(hex_digest("SHA-512", b"").map(|h| h.len()), Some(128));
        assert_eq!(hex_digest("sha-256", b""), None);
    }
}
