//! Concurrency checks that run against any store behind the core: the in-memory one (with
//! yields inside operations) and Redis (a real `redis-server`). Each takes a fresh [`Api`]
//! holding the test directory, and panics on a lost update, a missing or duplicated entry, or
//! an answer the contract does not allow.

use crate::scenarios::Tasks;
use crate::*;
use serde_json::{json, Value};

/// Collects the results of scoped worker threads; a worker that panicked fails the check
/// (it must never count as "zero successes").
fn join_all<T>(handles: Vec<std::thread::ScopedJoinHandle<'_, T>>) -> Vec<T> {
    handles
        .into_iter()
        .map(|handle| match handle.join() {
            Ok(value) => value,
            Err(panic) => std::panic::resume_unwind(panic),
        })
        .collect()
}

/// Holds and resumes one task from 8 threads: every 200 is exactly one version step, and the
/// parity of the successes says where it ended.
pub fn actions_on_one_task_lose_no_update(api: &Api) {
    let t = Tasks::new(api);
    let task = t.in_state("Connected", None);
    let start_version = t.get(&task)["Version"].as_u64().unwrap_or(0);
    api.interleave_store_operations();
    let (threads, attempts) = (8, 40);
    let successes: u64 = std::thread::scope(|scope| {
        let handles = (0..threads)
            .map(|i| {
                let (t, task) = (&t, &task);
                scope.spawn(move || {
                    let mut ok = 0u64;
                    for n in 0..attempts {
                        let action = if (i + n) % 2 == 0 { "hold" } else { "resume" };
                        let response = t.act(task, action, None);
                        match response.status {
                            200 => ok += 1,
                            409 => {}
                            other => panic!("{action}: {other} {}", response.json_body()),
                        }
                    }
                    ok
                })
            })
            .collect();
        join_all(handles).into_iter().sum()
    });
    let end = t.get(&task);
    assert!(successes > 0);
    assert_eq!(
        end["Version"].as_u64().unwrap_or(0),
        start_version + successes,
        "every success is one version step"
    );
    let expected = if successes % 2 == 1 {
        "OnHold"
    } else {
        "Connected"
    };
    assert_eq!(end["Status"], expected);
    statistics_match_a_recount_in_every_team(api, "actions_on_one_task_lose_no_update");
}

/// 80 tasks created from 8 threads: all listed once in the team's list and queue.
pub fn parallel_creates_are_all_listed(api: &Api) {
    let t = Tasks::new(api);
    api.interleave_store_operations();
    let created: Vec<String> = std::thread::scope(|scope| {
        let handles = (0..8)
            .map(|_| {
                let t = &t;
                scope.spawn(move || {
                    (0..10)
                        .map(|_| t.create(TEAM_SUPPORT, "IncomingCall", "Normal"))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        join_all(handles).into_iter().flatten().collect()
    });
    let mut listed: Vec<String> = t
        .list(&format!("/v1.0/teams/{TEAM_SUPPORT}/tasks"))
        .iter()
        .filter_map(|task| task["Id"].as_str().map(String::from))
        .collect();
    listed.sort();
    let mut expected = created;
    expected.sort();
    assert_eq!(listed.len(), 80);
    assert_eq!(listed, expected, "every created task listed exactly once");
    statistics_match_a_recount_in_every_team(api, "parallel_creates_are_all_listed");
}

/// The same queued task offered to Anna and Ben from 8 threads at once: exactly one offer
/// wins, the task rings at the winner's, and only the winner's list shows it.
pub fn simultaneous_offers_have_exactly_one_winner(api: &Api) {
    let t = Tasks::new(api);
    for _round in 0..5 {
        let task = t.create(TEAM_SUPPORT, "IncomingCall", "Normal");
        api.interleave_store_operations();
        let answers: Vec<(&str, u16)> = std::thread::scope(|scope| {
            let handles = (0..8)
                .map(|i| {
                    let (t, task) = (&t, &task);
                    let user = if i % 2 == 0 { ANNA } else { BEN };
                    scope.spawn(move || {
                        let body = json!({"UserIdentifier": user});
                        (user, t.act(task, "offer", Some(body)).status)
                    })
                })
                .collect();
            join_all(handles)
        });
        let winners: Vec<&str> = answers
            .iter()
            .filter(|(_, status)| *status == 200)
            .map(|(user, _)| *user)
            .collect();
        assert_eq!(winners.len(), 1, "one offer wins: {answers:?}");
        assert!(
            answers.iter().all(|(_, s)| *s == 200 || *s == 409),
            "{answers:?}"
        );
        let now = t.get(&task);
        assert_eq!(now["Status"], "Ringing");
        assert_eq!(now["AssignedUserId"], winners[0]);
        assert_eq!(now["Version"], 2, "one change only");
        for user in [ANNA, BEN] {
            let listed = t
                .list(&format!("/v1.0/users/{user}/tasks"))
                .iter()
                .any(|x| x["Id"] == task.as_str());
            assert_eq!(listed, user == winners[0], "{user}'s list");
        }
        assert_eq!(t.act(&task, "terminate", None).status, 200);
    }
    statistics_match_a_recount_in_every_team(api, "simultaneous_offers_have_exactly_one_winner");
}

/// Five users blocked in their teams at once: every block is kept.
pub fn parallel_blocks_are_all_kept(api: &Api) {
    let key = api.key(&["UsersControl"]);
    api.interleave_store_operations();
    let pairs = [
        (TEAM_SUPPORT, ANNA),
        (TEAM_SUPPORT, BEN),
        (TEAM_EMEA, BEN),
        (TEAM_EMEA, CARLA),
        (TEAM_SALES, DAN),
    ];
    std::thread::scope(|scope| {
        let handles = pairs
            .into_iter()
            .map(|(team, user)| {
                let key = &key;
                scope.spawn(move || {
                    let path = format!("/v1.0/teams/{team}/users/{user}/active");
                    let response = api.call(key, "POST", &path, Some(json!({"Active": false})));
                    assert_eq!(response.status, 200, "{}", response.json_body());
                })
            })
            .collect();
        join_all(handles);
    });
    let directory = assert_status(&api.admin("GET", "/admin/v1.0/directory", None), 200);
    let memberships = directory["Memberships"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(memberships.len(), 5);
    assert!(
        memberships.iter().all(|m| m["IsActive"] == false),
        "{memberships:?}"
    );
}

/// Keys created and revoked from several threads: the list holds each live key once.
pub fn parallel_key_edits_lose_nothing_and_duplicate_nothing(api: &Api) {
    api.interleave_store_operations();
    let created: Vec<String> = std::thread::scope(|scope| {
        let handles = (0..6)
            .map(|_| {
                scope.spawn(|| {
                    (0..4)
                        .map(|_| {
                            let created = assert_status(
                                &api.admin(
                                    "POST",
                                    "/admin/v1.0/apikeys",
                                    Some(json!({"Name": "parallel", "Roles": ["TasksReadonly"]})),
                                ),
                                201,
                            );
                            created["Id"].as_str().unwrap_or_default().to_string()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        join_all(handles).into_iter().flatten().collect()
    });
    let (revoked, kept) = created.split_at(created.len() / 2);
    std::thread::scope(|scope| {
        let handles = revoked
            .chunks(3)
            .map(|chunk| {
                scope.spawn(move || {
                    for id in chunk {
                        let response =
                            api.admin("DELETE", &format!("/admin/v1.0/apikeys/{id}"), None);
                        assert_eq!(response.status, 204, "{}", response.json_body());
                    }
                })
            })
            .collect();
        join_all(handles);
    });
    let listed = assert_status(&api.admin("GET", "/admin/v1.0/apikeys", None), 200);
    let mut listed: Vec<String> = listed
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|k| k["Id"].as_str().map(String::from))
        .collect();
    listed.sort();
    let mut expected = kept.to_vec();
    expected.sort();
    assert_eq!(listed, expected, "live keys, each once");
}

/// Offers and declines from 4 threads while 4 others read the lists; when it is quiet, every
/// index document says exactly what the tasks say (read raw, so no read-repair helps).
pub fn indexes_converge_under_concurrent_changes_and_reads(api: &Api) {
    let t = Tasks::new(api);
    let tasks: Vec<String> = (0..2)
        .map(|_| t.create(TEAM_SUPPORT, "IncomingCall", "Normal"))
        .collect();
    api.interleave_store_operations();
    std::thread::scope(|scope| {
        let mut handles = Vec::new();
        for worker in 0..4 {
            let (t, tasks) = (&t, &tasks);
            handles.push(scope.spawn(move || {
                for round in 0..150 {
                    let task = &tasks[(worker + round) % tasks.len()];
                    let user = if worker % 2 == 0 { ANNA } else { BEN };
                    for (action, body) in [
                        ("offer", Some(json!({"UserIdentifier": user}))),
                        ("decline", None),
                    ] {
                        // 503 ("being changed by many requests at once; retry") is a documented
                        // answer under this much contention; what matters is the end state.
                        let status = t.act(task, action, body).status;
                        assert!(matches!(status, 200 | 409 | 503), "{action}: {status}");
                    }
                }
            }));
        }
        for _ in 0..4 {
            let t = &t;
            handles.push(scope.spawn(move || {
                for _ in 0..150 {
                    t.list(&format!("/v1.0/users/{ANNA}/tasks"));
                    t.list(&format!("/v1.0/users/{BEN}/tasks"));
                    t.list(&format!("/v1.0/teams/{TEAM_SUPPORT}/tasks"));
                    let path = format!("/v1.0/teams/{TEAM_SUPPORT}/longestwaitingtask");
                    let status = t.api.call(&t.key, "GET", &path, None).status;
                    assert!(status == 200 || status == 204);
                }
            }));
        }
        join_all(handles);
    });
    let Some(store) = api.raw_store() else {
        // A live instance whose store the test cannot read: the lists must say what the tasks say.
        for task in &tasks {
            let now = t.get(task);
            let status = now["Status"].as_str().unwrap_or_default();
            for (user, path) in [
                (ANNA, format!("/v1.0/users/{ANNA}/tasks")),
                (BEN, format!("/v1.0/users/{BEN}/tasks")),
            ] {
                let listed = t.list(&path).iter().any(|x| x["Id"] == task.as_str());
                let assigned = status == "Ringing" && now["AssignedUserId"] == user;
                assert_eq!(listed, assigned, "{task} in {path}: {now}");
            }
            let team = t.list(&format!("/v1.0/teams/{TEAM_SUPPORT}/tasks"));
            assert!(
                team.iter().any(|x| x["Id"] == task.as_str()),
                "{task} listed in the team"
            );
        }
        return;
    };
    let doc = |key: String| -> Value {
        let raw = store.get(&key).ok().flatten().unwrap_or_default();
        serde_json::from_slice(&raw).unwrap_or_default()
    };
    // The team's index is sharded: all shards together (read as they are, no repair).
    let team_index = tm_core::repo::Repo::new(store)
        .team_index(tm_core::ids::TeamId::parse(TEAM_SUPPORT).expect("a team id"))
        .expect("the team index");
    let team = serde_json::to_value(&team_index).unwrap_or_default();
    let anna = doc(format!("index/user/{ANNA}"));
    let ben = doc(format!("index/user/{BEN}"));
    let ids = |v: &Value| -> Vec<String> {
        let mut ids: Vec<String> = v
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| x.as_str().map(String::from))
            .collect();
        ids.sort();
        ids
    };
    let mut queued: Vec<String> = team["Queue"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|q| q["TaskId"].as_str().map(String::from))
        .collect();
    queued.sort();
    let (mut want_queue, mut want_anna, mut want_ben) = (Vec::new(), Vec::new(), Vec::new());
    for task in &tasks {
        let now = t.get(task);
        match (now["Status"].as_str(), now["AssignedUserId"].as_str()) {
            (Some("Queued"), _) => want_queue.push(task.clone()),
            (Some("Ringing"), Some(ANNA)) => want_anna.push(task.clone()),
            (Some("Ringing"), Some(BEN)) => want_ben.push(task.clone()),
            other => panic!("unexpected {other:?}"),
        }
    }
    for list in [&mut want_queue, &mut want_anna, &mut want_ben] {
        list.sort();
    }
    let mut all = tasks.clone();
    all.sort();
    assert_eq!(ids(&team["Open"]), all);
    assert_eq!(queued, want_queue);
    assert_eq!(ids(&anna["Tasks"]), want_anna);
    assert_eq!(ids(&ben["Tasks"]), want_ben);
    statistics_match_a_recount_in_every_team(
        api,
        "indexes_converge_under_concurrent_changes_and_reads",
    );
}

/// Offers and declines of 64 queued tasks from 8 threads, then, when it is quiet,
/// `longestwaitingtask` must serve the queued tasks in exactly the contract's order (priority,
/// then `QueuedAt`): the per-shard queue heads written under contention name the right tasks.
pub fn the_queue_is_served_in_order_after_parallel_changes(api: &Api) {
    const PRIORITIES: [&str; 4] = ["High", "Normal", "StrictPriority", "Low"];
    const RANK: [usize; 4] = [3, 4, 0, 5]; // their places in the vendor's enum
    let t = Tasks::new(api);
    // Created one after another with the clock moving: creation order is QueuedAt order.
    let tasks: Vec<(String, (usize, usize))> = (0..64)
        .map(|n| {
            api.advance(20);
            let kind = n % PRIORITIES.len();
            let id = t.create(TEAM_SUPPORT, "IncomingCall", PRIORITIES[kind]);
            (id, (RANK[kind], n))
        })
        .collect();
    api.interleave_store_operations();
    std::thread::scope(|scope| {
        let handles = (0..8)
            .map(|worker| {
                let (t, tasks) = (&t, &tasks);
                scope.spawn(move || {
                    let mine: Vec<&String> = tasks
                        .iter()
                        .skip(worker)
                        .step_by(8)
                        .map(|(id, _)| id)
                        .collect();
                    let user = if worker % 2 == 0 { ANNA } else { BEN };
                    for round in 0..24 {
                        let task = mine[round % mine.len()];
                        let offered = t.act(task, "offer", Some(json!({"UserIdentifier": user})));
                        assert!(
                            matches!(offered.status, 200 | 409 | 503),
                            "offer: {}",
                            offered.status
                        );
                        // In the last pass, every third task stays with its agent; the rest
                        // go back to the queue.
                        let keep = round >= 16 && (round % mine.len()).is_multiple_of(3);
                        if offered.status == 200 && !keep {
                            let declined = t.act(task, "decline", None);
                            assert!(
                                matches!(declined.status, 200 | 409 | 503),
                                "decline: {}",
                                declined.status
                            );
                        }
                    }
                })
            })
            .collect();
        join_all(handles);
    });
    let mut waiting: Vec<(&String, (usize, usize))> = tasks
        .iter()
        .filter(|(id, _)| t.status(id) == "Queued")
        .map(|(id, place)| (id, *place))
        .collect();
    waiting.sort_by_key(|(_, place)| *place);
    assert!(
        waiting.len() > 8 && waiting.len() < 64,
        "{} waiting",
        waiting.len()
    );
    let path = format!("/v1.0/teams/{TEAM_SUPPORT}/longestwaitingtask");
    for (n, (expected, _)) in waiting.iter().enumerate() {
        let served = t.read(&path);
        assert_eq!(
            served["Id"],
            expected.as_str(),
            "task {n} of {} served",
            waiting.len()
        );
        t.ok(expected, "terminate", None);
    }
    assert_eq!(
        t.api.call(&t.key, "GET", &path, None).status,
        204,
        "nothing left waiting"
    );
    statistics_match_a_recount_in_every_team(
        api,
        "the_queue_is_served_in_order_after_parallel_changes",
    );
}

/// Hold and resume of 4 connected calls, offers and declines of 4 queued ones, from 8 threads,
/// while 2 more read the team's feed: afterwards the feed holds each task's committed versions
/// exactly once and in order, and every reader saw the same sequence (a prefix of the final one).
pub fn the_feed_has_every_committed_change_once_in_one_order(api: &Api) {
    let t = Tasks::new(api);
    let feed = format!("/v1.0/teams/{TEAM_SUPPORT}/events");
    let start = t.read(&feed)["Cursor"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let connected: Vec<String> = (0..4).map(|_| t.in_state("Connected", None)).collect();
    let queued: Vec<String> = (0..4)
        .map(|_| t.create(TEAM_SUPPORT, "IncomingCall", "Normal"))
        .collect();
    api.interleave_store_operations();
    let follow = |t: &Tasks, cursor: &str, rounds: usize| -> Vec<(String, u64)> {
        let mut seen = Vec::new();
        let mut cursor = cursor.to_string();
        for _ in 0..rounds {
            let page = t.read(&format!("{feed}?after={cursor}"));
            for event in page["Events"].as_array().into_iter().flatten() {
                let id = event["TaskId"].as_str().unwrap_or_default().to_string();
                seen.push((id, event["Version"].as_u64().unwrap_or(0)));
            }
            cursor = page["Cursor"].as_str().unwrap_or_default().to_string();
        }
        seen
    };
    let readers: Vec<Vec<(String, u64)>> = std::thread::scope(|scope| {
        let mut writers = Vec::new();
        for worker in 0..8 {
            let (t, connected, queued) = (&t, &connected, &queued);
            writers.push(scope.spawn(move || {
                for round in 0..20 {
                    let (task, actions): (&String, [(&str, Option<Value>); 2]) = if worker % 2 == 0
                    {
                        (
                            &connected[(worker / 2 + round) % 4],
                            [("hold", None), ("resume", None)],
                        )
                    } else {
                        let user = if worker % 4 == 1 { ANNA } else { BEN };
                        (
                            &queued[(worker / 2 + round) % 4],
                            [
                                ("offer", Some(json!({"UserIdentifier": user}))),
                                ("decline", None),
                            ],
                        )
                    };
                    for (action, body) in actions {
                        let status = t.act(task, action, body).status;
                        assert!(matches!(status, 200 | 409 | 503), "{action}: {status}");
                    }
                }
            }));
        }
        let reading: Vec<_> = (0..2)
            .map(|_| {
                let (t, start) = (&t, &start);
                scope.spawn(move || follow(t, start, 40))
            })
            .collect();
        join_all(writers);
        join_all(reading)
    });
    // A request that gave up (503) may have left an intent that readers wait for until it is
    // fenced, 10 s after it: let that time pass before reading everything.
    api.let_time_pass(11_000);
    let task_and_version = |event: &Value| {
        (
            event["TaskId"].as_str().unwrap_or_default().to_string(),
            event["Version"].as_u64().unwrap_or(0),
        )
    };
    let all: Vec<(String, u64)> = t
        .follow_feed(&feed, &start)
        .0
        .iter()
        .map(task_and_version)
        .collect();
    for task in connected.iter().chain(&queued) {
        let version = t.get(task)["Version"].as_u64().unwrap_or(0);
        let versions: Vec<u64> = all
            .iter()
            .filter(|(id, _)| id == task)
            .map(|(_, v)| *v)
            .collect();
        let from = versions.first().copied().unwrap_or(1);
        assert_eq!(
            versions,
            (from..=version).collect::<Vec<_>>(),
            "{task}: each version once, in order"
        );
    }
    for seen in readers {
        assert_eq!(seen[..], all[..seen.len()], "a reader saw another order");
    }
    // Each user's feed: exactly the changes where the user was assigned before or after
    // (worked out from the team feed's task snapshots), each once, each task's in order.
    let snapshots: std::collections::HashMap<(String, u64), Value> = t
        .follow_feed(&feed, &start)
        .0
        .iter()
        .map(|event| (task_and_version(event), event["Task"].clone()))
        .collect();
    let assigned = |task: &str, version: u64| -> Option<String> {
        snapshots
            .get(&(task.to_string(), version))
            .and_then(|s| s["AssignedUserId"].as_str().map(String::from))
    };
    for user in [ANNA, BEN] {
        let mut expected: Vec<(String, u64)> = all
            .iter()
            .filter(|(task, version)| {
                let before = assigned(task, version - 1);
                let after = assigned(task, *version);
                before.as_deref() == Some(user) || after.as_deref() == Some(user)
            })
            .cloned()
            .collect();
        let mut got: Vec<(String, u64)> = t
            .follow_feed(&format!("/v1.0/users/{user}/events"), "0")
            .0
            .iter()
            .map(task_and_version)
            .collect();
        // Each task's versions in order in the user's feed.
        for task in connected.iter().chain(&queued) {
            let versions: Vec<u64> = got
                .iter()
                .filter(|(id, _)| id == task)
                .map(|(_, v)| *v)
                .collect();
            assert!(
                versions.windows(2).all(|w| w[0] < w[1]),
                "{user}: {task} {versions:?}"
            );
        }
        got.retain(|(task, _)| connected.contains(task) || queued.contains(task));
        got.sort();
        expected.sort();
        assert_eq!(got, expected, "{user}'s feed");
    }
    statistics_match_a_recount_in_every_team(
        api,
        "the_feed_has_every_committed_change_once_in_one_order",
    );
}

/// A named check.
pub type Check = (&'static str, fn(&Api));

/// Every check above, for the live test that runs them all on one pair of instances.
pub const ALL: &[Check] = &[
    (
        "actions_on_one_task_lose_no_update",
        actions_on_one_task_lose_no_update,
    ),
    (
        "parallel_creates_are_all_listed",
        parallel_creates_are_all_listed,
    ),
    (
        "simultaneous_offers_have_exactly_one_winner",
        simultaneous_offers_have_exactly_one_winner,
    ),
    ("parallel_blocks_are_all_kept", parallel_blocks_are_all_kept),
    (
        "parallel_key_edits_lose_nothing_and_duplicate_nothing",
        parallel_key_edits_lose_nothing_and_duplicate_nothing,
    ),
    (
        "indexes_converge_under_concurrent_changes_and_reads",
        indexes_converge_under_concurrent_changes_and_reads,
    ),
    (
        "the_queue_is_served_in_order_after_parallel_changes",
        the_queue_is_served_in_order_after_parallel_changes,
    ),
    (
        "the_feed_has_every_committed_change_once_in_one_order",
        the_feed_has_every_committed_change_once_in_one_order,
    ),
    (
        "parallel_sessions_lose_nothing",
        crate::sessions::parallel_sessions_lose_nothing,
    ),
];

/// After a check: the statistics of every team it may have changed against a recount from the
/// tasks (see `statistics::check_statistics_match_a_recount`).
pub fn statistics_match_a_recount_in_every_team(api: &Api, context: &str) {
    let key = api.key(&["TasksReadonly"]);
    for team in [TEAM_SUPPORT, TEAM_EMEA] {
        crate::statistics::check_statistics_match_a_recount(api, &key, team, context);
    }
}
