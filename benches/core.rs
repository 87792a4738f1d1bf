//! The core's translation and lookups, without I/O: a 0200 read into the core's purchase
//! request, the 0210 built from an approved record, and the merchant directory's terminal lookup
//! with 10,000 terminals on one merchant (every transaction does one).
//!
//! Run: `cargo bench -p asw-benches --bench core`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)] // bench code: failing loudly is the point; criterion macros make undocumented items

use std::hint::black_box;

use asw_core::domain::{MerchantProfile, TerminalProfile};
use asw_core::flows::Answer;
use asw_core::ids::IdGenerator;
use asw_core::merchants::MerchantDirectory;
use asw_core::state::{Delivery, TxnState};
use asw_front_iso::build_response;
use asw_front_iso::translate::{Derive, purchase_request};
use asw_terminal_sim::{Clock, LinkConfig, MessageFactory, ProfileName};
use asw_testkit::fixtures::purchase_record_of;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn merchant(terminals: usize) -> MerchantProfile {
    MerchantProfile {
        merchant_id: "M00000000000001".into(),
        client: "default".into(),
        reference_merchant_id: "SG-BENCH-M1".into(),
        merchant_name: "Bench Coffee".into(),
        mcc: "5814".into(),
        store_id: "SG-BENCH-S1".into(),
        store_name: "Bench Coffee One".into(),
        store_mcc: None,
        settlement_currency: Some("SGD".into()),
        merchant_region: None,
        utc_offset_minutes: 480,
        follow_ups: Default::default(),
        allowed_networks: Vec::new(),
        api_keys: Vec::new(),
        rest_timeout_ms: None,
        webhook: None,
        terminals: (0..terminals)
            .map(|i| TerminalProfile {
                terminal_id: format!("T{i:07}"),
                enabled: true,
                refunds: true,
                store_id: None,
            })
            .collect(),
    }
}

fn translation(c: &mut Criterion) {
    let link = LinkConfig::for_profile(ProfileName::PosBinary).unwrap();
    let factory = MessageFactory::new(&link.dialect, "M00000000000001", "T0000001");
    let request = factory
        .purchase(&Clock::utc().stamp(1), 1250, 702, "281234567890123400")
        .unwrap();
    let approved = {
        let mut r = purchase_record_of("T0000001", 1, asw_testkit::fixtures::NOW_MS);
        r.state = TxnState::Approved;
        r.delivery = Delivery::Sending;
        r.approval_code = Some("123456".into());
        r.payment_id = Some("202511221940108001001888A0000000001".into());
        r
    };
    let ids = IdGenerator::new(b"bench-secret-0123456789");
    let derive = Derive {
        ids: &ids,
        today: time::OffsetDateTime::now_utc().date(),
    };
    let mut group = c.benchmark_group("core");
    group.throughput(Throughput::Elements(1));
    // Since the redesign this includes deriving the ids (two keyed hashes), which the core did
    // before.
    group.bench_function("0200_to_purchase_request", |b| {
        b.iter(|| black_box(purchase_request(black_box(&request), derive).unwrap()))
    });
    group.bench_function("approved_record_to_0210", |b| {
        b.iter(|| {
            let answer = Answer::from_record(black_box(&approved));
            black_box(build_response(&link.dialect, &request, &answer).unwrap())
        })
    });
    group.finish();
}

fn lookup(c: &mut Criterion) {
    let directory = MerchantDirectory::new([merchant(10_000)]);
    let mut group = c.benchmark_group("core");
    group.throughput(Throughput::Elements(1));
    group.bench_function("merchant_lookup_10000_terminals", |b| {
        b.iter(|| {
            black_box(
                directory
                    .lookup(black_box("M00000000000001"), black_box("T0009999"))
                    .unwrap(),
            )
        })
    });
    group.finish();
}

criterion_group!(benches, translation, lookup);
criterion_main!(benches);
