//! The scenarios of the crash-point tests of the flows where a buyer acts at Antom (online
//! checkout, cards, Checkout Page sessions, order codes): a scenario is a list of steps the
//! outside world takes (the merchant's requests, the buyer on antom-sim's hooks, Antom's
//! notifications); they run on a switch that dies at one journal write, and the rest of them —
//! the interrupted one again, as a merchant retries and Antom re-sends — on a fresh switch;
//! once quiet, the promise is checked.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use asw_antom_sim::SimHandle;
use asw_core::domain::Origin;
use asw_core::flows::{Core, Outcome};
use asw_core::ports::Journal;
use asw_core::state::TxnState;
use asw_store::RedisStore;
use asw_testkit::RedisServer;
use futures::future::BoxFuture;

use super::crash::{Dying, When, case_store, core, crash_points, run_until_crash, until_quiet};
use super::online::{Answers, close, notify_payment, read, rest_origin, tag_of};
use super::{client, sim};

/// What the world does at one step, on the switch `core`; `again`: the step was interrupted by
/// the crash and is repeated on the fresh switch.
pub type Act<S> = Arc<dyn Fn(Arc<Core>, S, bool) -> BoxFuture<'static, ()> + Send + Sync>;

/// Runs `steps` on `first` (whose journal is `dying`) until it dies, then the rest — the
/// interrupted step again — on `fresh`. Returns the writes the first switch made.
pub async fn play<S: Clone + Send + Sync + 'static>(
    dying: &Dying,
    first: Arc<Core>,
    fresh: Arc<Core>,
    steps: &[S],
    act: Act<S>,
) -> usize {
    let progress = Arc::new(AtomicUsize::new(0));
    let writes = {
        let (progress, steps, act) = (progress.clone(), steps.to_vec(), act.clone());
        run_until_crash(dying, async move {
            for (i, step) in steps.into_iter().enumerate() {
                progress.store(i, Ordering::SeqCst);
                act(first.clone(), step, false).await;
            }
            progress.store(usize::MAX, Ordering::SeqCst);
        })
        .await
    };
    let interrupted = progress.load(Ordering::SeqCst);
    if interrupted < steps.len() {
        for (i, step) in steps.iter().enumerate().skip(interrupted) {
            act(fresh.clone(), step.clone(), i == interrupted).await;
        }
    }
    writes
}

/// One step of a scenario: one of the flow's own, or one every flow shares.
#[derive(Clone, Copy, Debug)]
pub enum Step<Own> {
    /// A step of the flow's own.
    Own(Own),
    /// Antom notifies attempt `a`'s result, once it has one (again: Antom re-sends it).
    Notify(u8),
    /// The merchant (or terminal) reads attempt `a`.
    Read(u8),
    /// The sweeper's closing time of attempt `a`: its last look.
    Close(u8),
}

/// What the steps act on beside the switch.
#[derive(Clone)]
pub struct World {
    /// antom-sim.
    pub sim: Arc<SimHandle>,
    /// The case's Redis, as the test sees it.
    pub store: RedisStore,
    /// What the requester was told.
    pub answers: Answers,
}

/// Where one of a flow's own steps runs: the world, the switch, the case, and whether the
/// step is repeated on the fresh switch after the crash interrupted it.
pub struct At {
    /// What the step acts on beside the switch.
    pub world: World,
    /// The switch.
    pub core: Arc<Core>,
    /// The case.
    pub n: u32,
    /// Repeated after the crash.
    pub again: bool,
}

/// One flow under test: its own steps, and how its attempts are named.
pub trait Flow: Send + Sync + 'static {
    /// What the world does next, beside the shared steps.
    type Own: Clone + Copy + Send + Sync + 'static;
    /// Prefix of the case's Redis keys.
    const NAME: &'static str;
    /// Who reads the payments: the REST merchant, unless the flow says otherwise.
    fn origin() -> Origin {
        rest_origin()
    }
    /// The `paymentRequestId` of attempt `a` of case `n`.
    fn prid(n: u32, a: u8) -> String;
    /// The attempt a step of the flow creates, if it creates one (else attempt 1 only).
    fn creates(_step: &Self::Own) -> Option<u8> {
        None
    }
    /// What the world does at one of the flow's own steps.
    fn act(at: At, step: Self::Own) -> BoxFuture<'static, ()>;
    /// Whether Antom holds what makes `id` a success (a card: captured).
    fn paid_at_antom(sim: &SimHandle, id: &str) -> bool {
        sim.payment(id).is_some_and(|p| p.status == "SUCCESS")
    }
    /// Checks particular to the flow, once quiet.
    fn check(_sim: &SimHandle, _id: &str, _label: &str) {}
}

fn act_of<F: Flow>(world: World, n: u32) -> Act<Step<F::Own>> {
    Arc::new(move |core, step, again| {
        let world = world.clone();
        Box::pin(async move {
            match step {
                Step::Own(own) => {
                    let at = At {
                        world,
                        core,
                        n,
                        again,
                    };
                    F::act(at, own).await;
                }
                Step::Notify(a) => notify_payment(&core, &world.sim, &F::prid(n, a)).await,
                Step::Read(a) => read(&core, &world.answers, F::origin(), &F::prid(n, a)).await,
                Step::Close(a) => close(&core, &world.store, &F::prid(n, a)).await,
            }
        })
    })
}

/// One case: `steps` on a switch that dies at write `at` (`When`), or never (`at` = 0), the
/// rest on a fresh one. Checks the promise: told paid ⇒ paid at Antom; a read once quiet,
/// and the journal, say paid ⇔ paid at Antom; at most one success per order; nothing queued
/// or dead-lettered. Returns the first switch's writes and Antom's status of each attempt.
pub async fn case<F: Flow>(
    server: &RedisServer,
    sim: &Arc<SimHandle>,
    n: u32,
    steps: &'static [Step<F::Own>],
    at: usize,
    when: When,
) -> (usize, Vec<String>) {
    let store = case_store(server, format!("{}{n}", F::NAME)).await;
    let upstream = client(sim);
    let dying = Arc::new(Dying::new(store.clone(), at, when));
    let first = Arc::new(core(dying.clone(), upstream.clone()));
    let fresh = Arc::new(core(Arc::new(store.clone()), upstream.clone()));
    let answers = Answers::default();
    let world = World {
        sim: sim.clone(),
        store: store.clone(),
        answers: answers.clone(),
    };
    let writes = play(&dying, first, fresh.clone(), steps, act_of::<F>(world, n)).await;

    let last = steps
        .iter()
        .filter_map(|s| match s {
            Step::Own(own) => F::creates(own),
            _ => None,
        })
        .max()
        .unwrap_or(1);
    let records: Vec<_> = (1..=last)
        .map(|a| F::prid(n, a))
        .map(|id| (tag_of(&id), id))
        .collect();
    until_quiet(&store, upstream, fresh.clone(), &records, n).await;
    let label = format!("{} case {n}, crash {when:?} write {at}", F::NAME);
    let mut statuses = Vec::new();
    for (tag, id) in &records {
        read(&fresh, &answers, F::origin(), id).await;
        let at_antom = sim.payment(id).map_or_else(|| "NONE".into(), |p| p.status);
        let paid = F::paid_at_antom(sim, id);
        let told = answers.of(id);
        let read_now = told.last().map(|a| a.outcome.clone());
        let journal = store.load(tag, id).await.unwrap().map(|r| r.state);
        let outcomes: Vec<_> = told.iter().map(|a| &a.outcome).collect();
        eprintln!("{label}: {id} told {outcomes:?}, journal {journal:?}, Antom {at_antom}");
        assert!(
            !answers.told_paid(id) || paid,
            "{label}: {id} told paid, Antom {at_antom}"
        );
        let told_unpaid = told
            .iter()
            .any(|a| matches!(a.outcome, Outcome::Declined { .. } | Outcome::Expired));
        assert!(
            !(told_unpaid && paid),
            "{label}: {id} told {outcomes:?}, Antom {at_antom}"
        );
        assert_eq!(
            read_now == Some(Outcome::Approved),
            paid,
            "{label}: {id} reads {read_now:?}, Antom {at_antom}"
        );
        assert_eq!(
            journal == Some(TxnState::Approved),
            paid,
            "{label}: {id} journal {journal:?}, Antom {at_antom}"
        );
        F::check(sim, id, &label);
        statuses.push(at_antom);
    }
    let ids: Vec<_> = records.into_iter().map(|(_, id)| id).collect();
    at_most_one_success(sim, &ids, &label);
    (writes, statuses)
}

/// Runs `steps` without a crash (Antom must end with `expected`, one `|`-separated choice
/// per attempt), then with a crash at each side of each of its writes, all at once.
pub async fn every_crash_point<F: Flow>(
    steps: &'static [Step<F::Own>],
    first: u32,
    expected: &[&str],
) {
    let server = RedisServer::start().unwrap();
    let sim = Arc::new(sim().await);
    let (writes, statuses) = case::<F>(&server, &sim, first, steps, 0, When::After).await;
    assert_eq!(statuses.len(), expected.len(), "{statuses:?}");
    for (status, expected) in statuses.iter().zip(expected) {
        assert!(one_of(status, expected), "without a crash: {statuses:?}");
    }
    assert!(writes >= 2, "{writes} writes");
    let points = crash_points(writes, first + 1);
    futures::future::join_all(
        points
            .iter()
            .map(|&(n, at, when)| case::<F>(&server, &sim, n, steps, at, when)),
    )
    .await;
}

/// At most one attempt of an order holds SUCCESS at Antom.
pub fn at_most_one_success(sim: &SimHandle, attempts: &[String], label: &str) {
    let paid: Vec<_> = attempts
        .iter()
        .filter(|p| sim.payment(p).is_some_and(|v| v.status == "SUCCESS"))
        .collect();
    assert!(paid.len() <= 1, "{label}: more than one success: {paid:?}");
}

/// Whether Antom's status `status` is one of `expected` (`|`-separated).
pub fn one_of(status: &str, expected: &str) -> bool {
    expected.split('|').any(|e| e == status)
}
