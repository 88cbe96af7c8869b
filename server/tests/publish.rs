//! `publish_event` selects sockets by tags, targets and exclusions like upstream `publishEvent`
//! (PROTOCOL.md section 8), skips unsubscribed sockets, and reaches each socket at most once.

mod common;

use common::{config, Client, TestServer, ROOM};
use durable_iterator_protocol::RichBody;
use durable_iterator_server::{PublishOptions, Recipients};
use serde_json::{json, Value};

struct Member {
    client: Client,
    sub: String,
}

async fn member(server: &TestServer, id: &str, tags: &[&str], role: &str) -> Member {
    let token = server.token(|p| {
        p.tags = (!tags.is_empty()).then(|| tags.iter().map(|t| (*t).to_owned()).collect());
        p.att = Some(json!({"role": role}));
    });
    let mut client = server.connect_with(id, &token).await;
    let sub = client.subscribe(None).await;
    Member { client, sub }
}

/// Reads every event until the stream goes quiet; returns their `case` numbers.
async fn cases(member: &mut Member) -> Vec<u64> {
    let mut seen = Vec::new();
    loop {
        match tokio::time::timeout(
            std::time::Duration::from_millis(300),
            member.client.recv_json(),
        )
        .await
        {
            Ok(frame) => {
                assert_eq!(frame["i"], Value::String(member.sub.clone()));
                seen.push(frame["p"]["d"]["json"]["case"].as_u64().unwrap());
            }
            Err(_) => return seen,
        }
    }
}

#[tokio::test]
async fn tags_targets_and_exclusions_select_sockets() {
    let server = TestServer::start(config()).await;
    let mut a = member(&server, "a", &["red"], "user").await;
    let mut b = member(&server, "b", &["blue"], "user").await;
    let mut c = member(&server, "c", &["red", "blue"], "admin").await;
    let mut d = member(&server, "d", &[], "user").await;
    // Connected but never subscribed: skipped by every live publish.
    let mut e = server.connect("e").await;

    let publish = |case: u64, options: PublishOptions| {
        let receipt =
            server
                .server
                .publish_event(ROOM, RichBody::plain(json!({"case": case})), options);
        assert_eq!(receipt.first_id, None, "resume is off: no ids");
        receipt.deliveries
    };
    assert_eq!(publish(1, PublishOptions::everyone()), 4);
    assert_eq!(publish(2, PublishOptions::tags(["red"])), 2);
    assert_eq!(
        publish(3, PublishOptions::tags(["red", "blue"])),
        3,
        "c once"
    );
    let targets = |ids: &[&str]| Some(Recipients::ids(ids.iter().copied()));
    assert_eq!(
        publish(
            4,
            PublishOptions {
                targets: targets(&["b", "d", "e", "d"]),
                ..Default::default()
            }
        ),
        2
    );
    assert_eq!(
        publish(
            5,
            PublishOptions {
                tags: Some(vec!["red".into()]),
                targets: targets(&["a", "b"]),
                ..Default::default()
            }
        ),
        1
    );
    assert_eq!(
        publish(
            6,
            PublishOptions {
                exclude: targets(&["a"]),
                ..Default::default()
            }
        ),
        3
    );
    let admins = Recipients::matching(|s| s.att.is_some_and(|att| att["role"] == "admin"));
    assert_eq!(
        publish(
            7,
            PublishOptions {
                targets: Some(admins),
                ..Default::default()
            }
        ),
        1
    );
    let blue =
        Recipients::matching(|s| s.tags.is_some_and(|tags| tags.iter().any(|t| t == "blue")));
    assert_eq!(
        publish(
            8,
            PublishOptions {
                exclude: Some(blue),
                ..Default::default()
            }
        ),
        2
    );
    let nobody = Recipients::matching(|_| false);
    assert_eq!(
        publish(
            9,
            PublishOptions {
                targets: Some(nobody),
                ..Default::default()
            }
        ),
        0
    );

    assert_eq!(cases(&mut a).await, vec![1, 2, 3, 5, 8]);
    assert_eq!(cases(&mut b).await, vec![1, 3, 4, 6]);
    assert_eq!(cases(&mut c).await, vec![1, 2, 3, 6, 7]);
    assert_eq!(cases(&mut d).await, vec![1, 4, 6, 8]);
    e.expect_silence(100).await;
}

#[tokio::test]
async fn every_connection_of_a_client_id_is_a_socket_of_its_own() {
    let server = TestServer::start(config()).await;
    let mut first = member(&server, "same", &[], "user").await;
    let mut second = member(&server, "same", &[], "user").await;
    let receipt = server.server.publish_event(
        ROOM,
        RichBody::plain(json!({"case": 1})),
        PublishOptions {
            targets: Some(Recipients::ids(["same"])),
            ..Default::default()
        },
    );
    assert_eq!(receipt.deliveries, 2);
    assert_eq!(cases(&mut first).await, vec![1]);
    assert_eq!(cases(&mut second).await, vec![1]);
}

#[tokio::test]
async fn payload_meta_travels_with_the_event() {
    let server = TestServer::start(config()).await;
    let mut m = member(&server, "meta", &[], "user").await;
    let body =
        RichBody::from_json_str(r#"{"json":{"at":"2020-01-01T00:00:00.000Z"},"meta":[[1,"at"]]}"#)
            .unwrap();
    server
        .server
        .publish_event(ROOM, body, PublishOptions::everyone());
    assert_eq!(
        m.client.recv().await,
        format!(
            r#"{{"i":"{}","t":3,"p":{{"e":"message","d":{{"json":{{"at":"2020-01-01T00:00:00.000Z"}},"meta":[[1,"at"]]}}}}}}"#,
            m.sub
        )
    );
}

#[tokio::test]
async fn other_channels_are_other_objects() {
    let server = TestServer::start(config()).await;
    let mut here = member(&server, "here", &[], "user").await;
    let receipt = server.server.publish_event(
        "elsewhere",
        RichBody::plain(json!({"case": 1})),
        PublishOptions::everyone(),
    );
    assert_eq!(receipt.deliveries, 0);
    here.client.expect_silence(200).await;
}
