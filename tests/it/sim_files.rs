//! The simulator's recording files (`--serve-files`), which the archive
//! reads: deterministic bytes of the listed size, Range, and the failures.

use crate::common;

use confsync::cloudroom::{CloudRoomClient, ListQuery};
use confsync_sim::files::{self, FileFault};
use confsync_sim::{RunningSimulator, SimConfig};
use serde_json::json;

/// The first listed recording: its url, file id and size.
async fn a_recording(sim: &RunningSimulator) -> (String, String, u64) {
    let db = common::test_db().await;
    let settings = common::settings_for(sim, &db);
    let client = CloudRoomClient::new(&settings.cloudroom).unwrap();
    let conf_id = confsync_sim::lock(&sim.state.cloudroom).recordings()[0].conf_id;
    let page = client
        .list_videos(conf_id, &ListQuery::page(1, 10))
        .await
        .unwrap();
    let video = &page.records[0];
    let url = video.url.clone().unwrap();
    (url, video.file_id.clone().unwrap(), video.size.unwrap())
}

async fn set_fault(sim: &RunningSimulator, fault: Option<FileFault>) {
    let files = match fault {
        Some(fault) => json!({ "*": fault }),
        None => json!({}),
    };
    common::admin(
        sim,
        reqwest::Method::POST,
        "/faults",
        Some(json!({ "files": files })),
    )
    .await;
}

#[tokio::test]
async fn files_have_their_listed_size_and_bytes_and_answer_ranges() {
    let sim = common::simulator(SimConfig {
        serve_files: true,
        ..common::small_sim()
    })
    .await;
    let (url, file_id, size) = a_recording(&sim).await;
    assert!(url.starts_with(&sim.base_url()), "{url}");
    let http = reqwest::Client::new();
    let whole = http.get(&url).send().await.unwrap();
    assert_eq!(whole.status(), 200);
    assert_eq!(whole.headers()["content-type"], "video/mp4");
    let body = whole.bytes().await.unwrap();
    assert_eq!(body.len() as u64, size);
    assert_eq!(&body[4..8], b"ftyp");
    use sha2::Digest;
    assert_eq!(
        hex::encode(sha2::Sha256::digest(&body)),
        files::sha256_hex(&file_id, size)
    );

    let tail = http
        .get(&url)
        .header("Range", "bytes=1000-")
        .send()
        .await
        .unwrap();
    assert_eq!(tail.status(), 206);
    let expected_range = format!("bytes 1000-{}/{size}", size - 1);
    assert_eq!(tail.headers()["content-range"], expected_range.as_str());
    assert_eq!(tail.bytes().await.unwrap(), body.slice(1000..));
    let past = http
        .get(&url)
        .header("Range", format!("bytes={size}-"))
        .send()
        .await
        .unwrap();
    assert_eq!(past.status(), 416);
}

#[tokio::test]
async fn files_fail_as_asked_and_answer_410_once_deleted() {
    let sim = common::simulator(SimConfig {
        serve_files: true,
        ..common::small_sim()
    })
    .await;
    let (url, file_id, size) = a_recording(&sim).await;
    let http = reqwest::Client::new();

    set_fault(&sim, Some(FileFault::Cut { after_bytes: 500 })).await;
    let cut = http.get(&url).send().await.unwrap();
    assert_eq!(cut.status(), 200);
    assert!(
        cut.bytes().await.is_err(),
        "a body cut short is an error, not a short file"
    );

    set_fault(&sim, Some(FileFault::Html)).await;
    let html = http.get(&url).send().await.unwrap();
    assert_eq!(html.status(), 200);
    assert!(html.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));

    set_fault(&sim, Some(FileFault::Status { status: 404 })).await;
    assert_eq!(http.get(&url).send().await.unwrap().status(), 404);

    set_fault(
        &sim,
        Some(FileFault::Slow {
            bytes_per_second: size * 4,
        }),
    )
    .await;
    let started = std::time::Instant::now();
    let slow = http.get(&url).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(slow.len() as u64, size);
    assert!(started.elapsed() >= std::time::Duration::from_millis(200));

    set_fault(&sim, None).await;
    let db = common::test_db().await;
    let client = CloudRoomClient::new(&common::settings_for(&sim, &db).cloudroom).unwrap();
    client.delete_video(&file_id).await.unwrap();
    assert_eq!(http.get(&url).send().await.unwrap().status(), 410);
}

#[tokio::test]
async fn a_resume_is_answered_206_only_while_its_if_range_matches() {
    let sim = common::simulator(SimConfig {
        serve_files: true,
        ..common::small_sim()
    })
    .await;
    let (url, _, size) = a_recording(&sim).await;
    let http = reqwest::Client::new();
    let first = http.get(&url).send().await.unwrap();
    let etag = first.headers()["etag"].to_str().unwrap().to_string();
    assert!(etag.starts_with('"'), "{etag}");
    let resume = |tag: &str| {
        http.get(&url)
            .header("range", "bytes=100-")
            .header("if-range", tag.to_string())
            .send()
    };
    let same = resume(&etag).await.unwrap();
    assert_eq!(same.status(), 206);
    assert_eq!(
        same.headers()["content-range"],
        format!("bytes 100-{}/{size}", size - 1).as_str()
    );
    assert_eq!(resume("\"another\"").await.unwrap().status(), 200);

    // The file changes after a cut: its ETag does too, and a resume
    // without If-Range gets the other bytes with a matching Content-Range.
    set_fault(&sim, Some(FileFault::SplicedResume { after_bytes: 1000 })).await;
    assert!(http.get(&url).send().await.unwrap().bytes().await.is_err());
    let changed = http
        .get(&url)
        .header("range", "bytes=1000-")
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 206);
    assert_ne!(changed.headers()["etag"].to_str().unwrap(), etag);
    assert_eq!(resume(&etag).await.unwrap().status(), 200);
}

#[tokio::test]
async fn without_validators_a_file_carries_no_etag_or_last_modified() {
    for (validators, header) in [
        (files::FileValidators::LastModified, Some("last-modified")),
        (files::FileValidators::None, None),
    ] {
        let sim = common::simulator(SimConfig {
            serve_files: true,
            file_validators: validators,
            ..common::small_sim()
        })
        .await;
        let (url, _, _) = a_recording(&sim).await;
        let answer = reqwest::get(&url).await.unwrap();
        assert!(!answer.headers().contains_key("etag"));
        assert_eq!(
            answer.headers().contains_key("last-modified"),
            header.is_some(),
            "{validators:?}"
        );
    }
}
