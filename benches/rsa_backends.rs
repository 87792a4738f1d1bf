//! RSA-2048 RSASSA-PKCS1-v1_5 / SHA-256 — the signature on every Antom request — with three
//! Rust backends: aws-lc-rs (what asw-antom uses), ring, and RustCrypto `rsa`.
//!
//! The message is the content-to-sign of the published `request` vector (a UPM pay, ~900
//! bytes). Every backend must produce the vector's signature, checked before measuring.
//!
//! Run: `cargo bench -p asw-benches --bench rsa_backends`

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rsa::pkcs8::DecodePrivateKey as _;
use rsa::signature::{SignatureEncoding as _, Signer as _, Verifier as _};

const VECTORS: &str = include_str!("../crates/asw-antom/testdata/signature_vectors.json");
// Throwaway test-only keys.
const MERCHANT_PKCS8_B64: &str =
    include_str!("../crates/asw-antom/testdata/merchant_private_pkcs8.b64");
const MERCHANT_PUBLIC_B64: &str = include_str!("../crates/asw-antom/testdata/merchant_public.b64");

struct Fixture {
    message: Vec<u8>,
    expected: Vec<u8>,
    pkcs8_der: Vec<u8>,
    spki_der: Vec<u8>,
}

fn fixture() -> Fixture {
    let v: serde_json::Value = serde_json::from_str(VECTORS).unwrap();
    let strip = |s: &str| s.split_whitespace().collect::<String>();
    Fixture {
        message: v["request"]["content_to_sign"]
            .as_str()
            .unwrap()
            .as_bytes()
            .to_vec(),
        expected: STANDARD
            .decode(v["request"]["signature_base64"].as_str().unwrap())
            .unwrap(),
        pkcs8_der: STANDARD.decode(strip(MERCHANT_PKCS8_B64)).unwrap(),
        spki_der: STANDARD.decode(strip(MERCHANT_PUBLIC_B64)).unwrap(),
    }
}

fn sign(c: &mut Criterion) {
    let f = fixture();

    let aws = aws_lc_rs::signature::RsaKeyPair::from_pkcs8(&f.pkcs8_der).unwrap();
    let aws_rng = aws_lc_rs::rand::SystemRandom::new();
    let aws_sign = |msg: &[u8]| {
        let mut sig = vec![0u8; aws.public_modulus_len()];
        aws.sign(
            &aws_lc_rs::signature::RSA_PKCS1_SHA256,
            &aws_rng,
            msg,
            &mut sig,
        )
        .unwrap();
        sig
    };

    let ring_key = ring::signature::RsaKeyPair::from_pkcs8(&f.pkcs8_der).unwrap();
    let ring_rng = ring::rand::SystemRandom::new();
    let ring_sign = |msg: &[u8]| {
        let mut sig = vec![0u8; ring_key.public().modulus_len()];
        ring_key
            .sign(&ring::signature::RSA_PKCS1_SHA256, &ring_rng, msg, &mut sig)
            .unwrap();
        sig
    };

    let rc_key = rsa::RsaPrivateKey::from_pkcs8_der(&f.pkcs8_der).unwrap();
    let rc_signer = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(rc_key);
    let rc_sign = |msg: &[u8]| rc_signer.sign(msg).to_vec();

    // Same key, deterministic scheme: all three must reproduce the published vector.
    assert_eq!(aws_sign(&f.message), f.expected, "aws-lc-rs");
    assert_eq!(ring_sign(&f.message), f.expected, "ring");
    assert_eq!(rc_sign(&f.message), f.expected, "rsa");

    let mut group = c.benchmark_group("rsa2048_pkcs1v15_sha256_sign");
    group.throughput(Throughput::Elements(1));
    group.bench_function("aws-lc-rs", |b| b.iter(|| aws_sign(&f.message)));
    group.bench_function("ring", |b| b.iter(|| ring_sign(&f.message)));
    group.bench_function("rustcrypto-rsa", |b| b.iter(|| rc_sign(&f.message)));
    group.finish();
}

fn verify(c: &mut Criterion) {
    let f = fixture();
    let aws = aws_lc_rs::signature::ParsedPublicKey::new(
        &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
        &f.spki_der,
    )
    .unwrap();
    // ring wants the bare RSAPublicKey; take it from the key pair.
    let ring_public = ring::signature::RsaKeyPair::from_pkcs8(&f.pkcs8_der)
        .unwrap()
        .public()
        .as_ref()
        .to_vec();
    let ring_key = ring::signature::UnparsedPublicKey::new(
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        ring_public,
    );
    let rc_key = rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(
        rsa::RsaPrivateKey::from_pkcs8_der(&f.pkcs8_der)
            .unwrap()
            .to_public_key(),
    );
    let rc_sig = rsa::pkcs1v15::Signature::try_from(f.expected.as_slice()).unwrap();

    aws.verify_sig(&f.message, &f.expected).unwrap();
    ring_key.verify(&f.message, &f.expected).unwrap();
    rc_key.verify(&f.message, &rc_sig).unwrap();

    let mut group = c.benchmark_group("rsa2048_pkcs1v15_sha256_verify");
    group.throughput(Throughput::Elements(1));
    group.bench_function("aws-lc-rs", |b| {
        b.iter(|| aws.verify_sig(&f.message, &f.expected).unwrap())
    });
    group.bench_function("ring", |b| {
        b.iter(|| ring_key.verify(&f.message, &f.expected).unwrap())
    });
    group.bench_function("rustcrypto-rsa", |b| {
        b.iter(|| rc_key.verify(&f.message, &rc_sig).unwrap())
    });
    group.finish();
}

criterion_group!(benches, sign, verify);
criterion_main!(benches);
