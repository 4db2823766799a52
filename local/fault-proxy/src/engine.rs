//! The decisions: for each call, what to inject (a named rule, a random fault, an
//! eventual-consistency window, a quota), how much latency to add, and what the emulator's
//! answer teaches (new resources, new sessions).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use http::HeaderMap;

use crate::attribution::Sessions;
use crate::consistency::Windows;
use crate::counts::{Counts, Outcome, Tally, UNATTRIBUTED};
use crate::journal::{Journal, Recorder, Timing};
use crate::quotas;
use crate::request::AwsRequest;
use crate::rng::CallRng;
use crate::rules::ActiveRule;
use crate::scenario::{CrashKind, Quotas, Rule, Scenario, ScenarioError};
use crate::shapes::{self, AwsError};
use crate::upstream::Upstream;

/// What the proxy asks of the program that runs the callers when a `crash` rule fires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrashRequest {
    /// The task that made the call (the function to kill), if known.
    pub task: Option<String>,
    /// The call's service.
    pub service: String,
    /// The call's action.
    pub action: String,
    /// How the invocation should end.
    pub kind: CrashKind,
}

/// Kills the caller of a call: returns `true` once an invocation was killed, `false` when
/// there was none to kill (the proxy then resets the connection instead).
pub type CrashHook =
    Arc<dyn Fn(CrashRequest) -> Pin<Box<dyn Future<Output = bool> + Send>> + Send + Sync>;

/// What to do with one call.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Send it to the emulator and pass the answer back.
    Forward,
    /// Answer this error.
    Error(AwsError),
    /// Close the connection without an answer (after forwarding, if asked).
    Reset {
        /// Forward first.
        after_forward: bool,
    },
    /// Have the caller killed (after forwarding, if asked).
    Crash {
        /// How.
        kind: CrashKind,
        /// Forward first.
        after_forward: bool,
    },
}

/// A verdict, the latency to add first and the request id of an injected error.
#[derive(Debug, Clone)]
pub struct Decision {
    /// What to do.
    pub verdict: Verdict,
    /// Latency to add before it.
    pub latency: Duration,
    /// The request id an injected error carries.
    pub request_id: String,
}

struct State {
    tally: Tally,
    rules: Vec<ActiveRule>,
    windows: Windows,
    sessions: Sessions,
    calls: HashMap<(String, String, String), u64>,
    journal: Option<Recorder>,
}

/// The shared state of a proxy.
pub struct Engine {
    scenario: Scenario,
    quotas: Quotas,
    upstream: Upstream,
    state: Mutex<State>,
    crash_hook: Mutex<Option<CrashHook>>,
    crash_hold: Duration,
    origin: Instant,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("scenario", &self.scenario.name)
            .field("upstream", &self.upstream)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine playing `scenario` in front of `upstream`.
    pub fn new(
        scenario: Scenario,
        upstream: Upstream,
        session_prefix: &str,
        crash_hold: Duration,
    ) -> Self {
        let rules = scenario
            .rules
            .iter()
            .cloned()
            .map(ActiveRule::new)
            .collect();
        Engine {
            quotas: scenario.quotas.resolve(),
            scenario,
            upstream,
            state: Mutex::new(State {
                tally: Tally::default(),
                rules,
                windows: Windows::default(),
                sessions: Sessions::new(session_prefix),
                calls: HashMap::new(),
                journal: None,
            }),
            crash_hook: Mutex::new(None),
            crash_hold,
            origin: Instant::now(),
        }
    }

    /// How long a call whose caller is being killed is held.
    pub fn crash_hold(&self) -> Duration {
        self.crash_hold
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The scenario played.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// The emulator.
    pub fn upstream(&self) -> &Upstream {
        &self.upstream
    }

    /// The task of an access key, if learned or named.
    pub fn task_of_key(&self, key: &str) -> Option<String> {
        self.state().sessions.task_of_key(key).map(str::to_owned)
    }

    /// Names the task of an access key.
    pub fn name_key(&self, key: &str, task: &str) {
        self.state().sessions.name_key(key, task);
    }

    /// Adds a rule after the scenario's.
    pub fn add_rule(&self, rule: Rule) -> Result<(), ScenarioError> {
        rule.validate()?;
        self.state().rules.push(ActiveRule::new(rule));
        Ok(())
    }

    /// The rules in force, with what each has seen.
    pub fn rules(&self) -> Vec<ActiveRule> {
        self.state().rules.clone()
    }

    /// Forgets the counts, the rules added at run time, and the open windows; the scenario's
    /// own rules start counting again.
    pub fn reset(&self) {
        let mut s = self.state();
        s.tally = Tally::default();
        s.rules = self
            .scenario
            .rules
            .iter()
            .cloned()
            .map(ActiveRule::new)
            .collect();
        s.windows.clear();
        s.calls.clear();
        if let Some(j) = s.journal.as_mut() {
            j.clear();
        }
    }

    /// When the engine started: the origin of the journal's times.
    pub fn origin(&self) -> Instant {
        self.origin
    }

    /// Starts keeping the journal (at most `limit` calls), or changes its limit; calls already
    /// kept stay.
    pub fn keep_journal(&self, limit: usize) {
        let mut s = self.state();
        let kept = s.journal.take().map(|j| j.snapshot());
        let mut recorder = Recorder::new(self.origin, limit);
        if let Some(kept) = kept {
            recorder.restore(kept);
        }
        s.journal = Some(recorder);
    }

    /// The journal so far (empty when it is not kept).
    pub fn journal(&self) -> Journal {
        self.state()
            .journal
            .as_ref()
            .map(Recorder::snapshot)
            .unwrap_or_default()
    }

    /// Every figure so far.
    pub fn counts(&self) -> Counts {
        let mut counts = self.state().tally.snapshot();
        counts.quota_reads = self.upstream.queries();
        counts
    }

    /// Installs the crash hook.
    pub fn set_crash_hook(&self, hook: CrashHook) {
        *self.crash_hook.lock().unwrap_or_else(|e| e.into_inner()) = Some(hook);
    }

    /// The crash hook, if any.
    pub fn crash_hook(&self) -> Option<CrashHook> {
        self.crash_hook
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Decides what happens to a call.
    pub async fn decide(
        &self,
        request: &AwsRequest,
        headers: &HeaderMap,
        task: Option<&str>,
    ) -> Decision {
        let (mut decision, check_quotas) = self.decide_locally(request, task);
        if check_quotas {
            match quotas::check(request, headers, &self.quotas, &self.upstream).await {
                Ok(Some((quota, error))) => {
                    *self
                        .state()
                        .tally
                        .quota_refusals
                        .entry(quota.to_owned())
                        .or_default() += 1;
                    decision.verdict = Verdict::Error(error);
                }
                Ok(None) => {}
                Err(e) => {
                    // The check could not be made; moto answers the call as it would.
                    tracing::debug!(error = %e, action = %request.action, "quota check skipped");
                }
            }
        }
        decision
    }

    /// Everything but the quotas, under the lock. Returns whether the quotas remain to check.
    fn decide_locally(&self, request: &AwsRequest, task: Option<&str>) -> (Decision, bool) {
        let now = Instant::now();
        let mut state = self.state();
        let who = task.unwrap_or(UNATTRIBUTED);
        let index = {
            let n = state
                .calls
                .entry((
                    who.to_owned(),
                    request.service.clone(),
                    request.action.clone(),
                ))
                .or_default();
            *n += 1;
            *n
        };
        let mut rng = CallRng::for_call(
            self.scenario.seed,
            &[who, &request.service, &request.action],
            index,
        );
        let resolved = self.scenario.resolve(&request.service, &request.action);
        let mut latency = resolved
            .latency
            .as_ref()
            .map(|l| l.sample(&mut rng))
            .unwrap_or_default();
        let request_id = rng.request_id();
        // Every draw is taken on every call, in the same order, so that one rate changing in a
        // scenario does not change the fate of unrelated calls.
        let reset = rng.chance(resolved.reset);
        let throttle = rng.chance(resolved.throttle);
        let server = rng.chance(resolved.server_error);
        let unavailable = rng.chance(0.5);

        let mut fired: Option<Rule> = None;
        let mut fired_rules = Vec::new();
        for active in state.rules.iter_mut() {
            if !active.applies(request, task) {
                continue;
            }
            if fired.is_some() {
                // Each rule counts every call that fits it, so its `nth` does not depend on
                // the rules before it.
                active.matched += 1;
            } else if active.fires(now, &mut rng) {
                latency += Duration::from_millis(active.rule.delay_ms.unwrap_or(0));
                fired_rules.push(active.rule.describe());
                // A rule that only delays leaves the call's fate to what follows.
                if active.rule.error.is_some() || active.rule.reset || active.rule.crash.is_some() {
                    fired = Some(active.rule.clone());
                }
            }
        }
        for description in fired_rules {
            *state.tally.rules_fired.entry(description).or_default() += 1;
        }
        let service = request.service.as_str();
        let verdict = if let Some(rule) = fired {
            if let Some(error) = &rule.error {
                Verdict::Error(shapes::named(
                    service,
                    error,
                    rule.status,
                    rule.message.as_deref(),
                ))
            } else if rule.reset {
                Verdict::Reset {
                    after_forward: rule.after_forward,
                }
            } else {
                Verdict::Crash {
                    kind: rule.crash.unwrap_or(CrashKind::Exit),
                    after_forward: rule.after_forward,
                }
            }
        } else if reset {
            Verdict::Reset {
                after_forward: false,
            }
        } else if throttle {
            Verdict::Error(shapes::named(service, &resolved.throttle_error, None, None))
        } else if server && unavailable {
            Verdict::Error(shapes::service_unavailable(service))
        } else if server {
            Verdict::Error(shapes::internal_error(service))
        } else if let Some((_, error)) = state.windows.hides(request, now) {
            Verdict::Error(error)
        } else {
            Verdict::Forward
        };
        let check_quotas = verdict == Verdict::Forward && quota_applies(request);
        (
            Decision {
                verdict,
                latency,
                request_id,
            },
            check_quotas,
        )
    }

    /// Learns from the emulator's answer to a forwarded call: new resources open their
    /// consistency windows, `AssumeRole` answers name sessions.
    pub fn learn(&self, request: &AwsRequest, status: u16, answer: &str) {
        if status != 200 {
            return;
        }
        let mut state = self.state();
        if let Some(task) = state.sessions.learn(request, answer) {
            tracing::debug!(task = %task, "learned the access key of a task's session");
        }
        for (kind, opened) in
            state
                .windows
                .record(request, answer, &self.scenario.consistency, Instant::now())
        {
            *state
                .tally
                .windows_opened
                .entry(kind.to_owned())
                .or_default() += opened;
        }
    }

    /// Adds a call to the tally, and to the journal when it is kept.
    pub(crate) fn record(
        &self,
        request: &AwsRequest,
        task: Option<&str>,
        outcome: &Outcome,
        timing: &Timing,
    ) {
        let now = Instant::now();
        let who = task.unwrap_or(UNATTRIBUTED);
        let mut state = self.state();
        state
            .tally
            .record(who, &request.service, &request.action, outcome);
        if let Some(j) = state.journal.as_mut() {
            j.record(request, who, timing, outcome.latency, now);
        }
    }
}

/// Whether a quota applies to the call at all (a cheap test that spares the others the quota
/// module).
fn quota_applies(request: &AwsRequest) -> bool {
    matches!(
        (request.service.as_str(), request.action.as_str()),
        ("iam", "PutUserPolicy" | "PutRolePolicy" | "PutGroupPolicy")
            | (
                "ec2",
                "CreateTags"
                    | "CreateNetworkAclEntry"
                    | "AuthorizeSecurityGroupIngress"
                    | "AuthorizeSecurityGroupEgress"
                    | "ModifyNetworkInterfaceAttribute"
                    | "CreateNetworkInterface"
            )
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use http::HeaderValue;

    fn engine(toml_text: &str) -> Engine {
        let scenario = Scenario::parse(toml_text, "test").expect("scenario");
        let upstream = Upstream::new("http://127.0.0.1:9").expect("url");
        Engine::new(scenario, upstream, "guardduty-responder-", Duration::ZERO)
    }

    fn request(service: &str, body: &str) -> AwsRequest {
        let mut h = HeaderMap::new();
        h.insert(
            http::header::AUTHORIZATION,
            HeaderValue::from_str(&format!(
                "AWS4-HMAC-SHA256 Credential=AKID/20240101/eu-west-1/{service}/aws4_request, SignedHeaders=host, Signature=x"
            ))
            .expect("header"),
        );
        AwsRequest::parse(&h, None, Bytes::from(body.to_owned()))
    }

    #[test]
    fn a_rule_wins_over_random_faults_and_a_delay_only_rule_does_not_decide() {
        let e = engine(
            r#"
            [defaults]
            throttle = 1.0
            [[rules]]
            action = "DescribeVpcs"
            delay_ms = 250
            [[rules]]
            action = "DescribeVpcs"
            error = "IncorrectState"
            "#,
        );
        let (d, _) = e.decide_locally(&request("ec2", "Action=DescribeVpcs"), None);
        assert_eq!(
            d.verdict,
            Verdict::Error(AwsError::new("IncorrectState", 400, ""))
        );
        assert_eq!(d.latency, Duration::from_millis(250));
        // Where no rule decides, the random throttling does.
        let (d, _) = e.decide_locally(&request("ec2", "Action=DescribeRegions"), None);
        assert_eq!(d.verdict, Verdict::Error(shapes::throttling("ec2")));
        assert_eq!(e.counts().rules_fired.len(), 2);
    }

    #[test]
    fn what_moto_answers_opens_windows_and_names_sessions() {
        let e = engine("[consistency]\nsecurity-group = 60");
        let create = request("ec2", "Action=CreateSecurityGroup&GroupName=q");
        e.learn(&create, 200, "<r><groupId>sg-9</groupId></r>");
        let (d, check) =
            e.decide_locally(&request("ec2", "Action=CreateTags&ResourceId.1=sg-9"), None);
        assert_eq!(
            d.verdict,
            Verdict::Error(AwsError::new(
                "InvalidGroup.NotFound",
                400,
                "The security group 'sg-9' does not exist"
            ))
        );
        assert!(!check, "a refused call needs no quota check");
        // A failed creation opens nothing.
        e.learn(&create, 400, "<r><groupId>sg-10</groupId></r>");
        let (d, _) = e.decide_locally(
            &request("ec2", "Action=CreateTags&ResourceId.1=sg-10"),
            None,
        );
        assert_eq!(d.verdict, Verdict::Forward);

        e.learn(
            &request(
                "sts",
                "Action=AssumeRole&RoleSessionName=guardduty-responder-tag",
            ),
            200,
            "<r><AccessKeyId>ASIATAG</AccessKeyId></r>",
        );
        assert_eq!(e.task_of_key("ASIATAG").as_deref(), Some("tag"));
        assert_eq!(e.counts().windows_opened.get("security-group"), Some(&1));
    }

    #[test]
    fn quota_checks_are_asked_for_only_where_a_quota_applies() {
        let e = engine("[quotas]\naws = true");
        let (d, check) = e.decide_locally(&request("iam", "Action=PutUserPolicy&UserName=u"), None);
        assert_eq!((d.verdict, check), (Verdict::Forward, true));
        let (_, check) = e.decide_locally(&request("iam", "Action=GetUser"), None);
        assert!(!check);
    }
}
