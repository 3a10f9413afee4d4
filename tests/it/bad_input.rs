//! Bad HR input: every kind of bad row is reported with its line, field and
//! reason while the good rows go through; every kind of unreadable file is
//! refused before any call; and no delete ever follows a bad read.
//!
//! Each kind is listed in docs/bad-input.md with the message asserted here;
//! the tests check the document quotes every one of them.

use crate::common;
use crate::common::directory as directory_helpers;

use std::collections::{BTreeMap, BTreeSet};

use confsync::directory::{self, ApplyOptions, DirectoryError};
use confsync_sim::{lock, RunningSimulator};
use directory_helpers as dh;
use tokio_util::sync::CancellationToken;

/// What a kind of bad row should give.
#[derive(Clone, Copy)]
enum Expect {
    /// One problem on the row's line: field, and the reason exactly.
    Problem(&'static str, &'static str),
    /// No problem: the row is read as stated in docs/bad-input.md.
    Accepted,
}

struct Case {
    kind: &'static str,
    /// The person pushed by the first (good) run whose row is now this one.
    seeded: Option<&'static str>,
    row: String,
    expect: Expect,
    /// The row has no usable employee_id (holds every leaver delete).
    unkeyed: bool,
}

fn case(kind: &'static str, id: &'static str, overrides: &[(&str, &str)], expect: Expect) -> Case {
    Case {
        kind,
        seeded: Some(id),
        row: dh::person_row(id, overrides),
        expect,
        unkeyed: false,
    }
}

use Expect::{Accepted, Problem};

const LONG_NAME: &str = "一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一";

/// People every run lists the same way; the kinds refer back to them.
fn good_rows() -> Vec<String> {
    vec![
        dh::person_row("G1", &[]),
        dh::person_row(
            "G2",
            &[("department", "市场 / 华东"), ("department_id", "D5")],
        ),
        dh::person_row("G3", &[("account", "Wang.Fang")]),
    ]
}

/// A seeded person whose row now changes (an update), and two new people.
fn changed_rows() -> Vec<String> {
    vec![
        dh::person_row("U1", &[("mobile", "13900000001")]),
        dh::person_row("N1", &[]),
        dh::person_row(
            "N2",
            &[
                ("department", "市场"),
                ("department_id", ""),
                ("role", "admin"),
                ("initial_password", "Given-Pass-4711"),
            ],
        ),
    ]
}

/// Line 2 is G1 and line 4 is G3 (`Wang.Fang`); the reasons name them.
fn cases() -> Vec<Case> {
    let missing = "missing (required)";
    vec![
        Case {
            kind: "missing employee_id",
            seeded: None,
            row: dh::person_row("X0", &[("employee_id", ""), ("account", "nobody")]),
            expect: Problem("employee_id", missing),
            unkeyed: true,
        },
        Case {
            kind: "employee_id with an invisible character (a BOM from a pasted export)",
            seeded: Some("S02"),
            row: dh::person_row(
                "\u{FEFF}S02",
                &[("account", "s02"), ("email", "s02@example.com")],
            ),
            expect: Problem("employee_id", "contains the invisible character U+FEFF"),
            unkeyed: true,
        },
        case("missing account", "S03", &[("account", "")], Problem("account", missing)),
        case("missing name", "S04", &[("name", "")], Problem("name", missing)),
        case(
            "required field of whitespace only",
            "S05",
            &[("name", "   ")],
            Problem("name", missing),
        ),
        Case {
            kind: "duplicate employee_id",
            seeded: None,
            row: dh::person_row("G1", &[("account", "g1.other")]),
            expect: Problem("employee_id", "duplicate of line 2"),
            unkeyed: false,
        },
        case(
            "duplicate account",
            "S07",
            &[("account", "g1")],
            Problem("account", "already used by line 2"),
        ),
        case(
            "duplicate account in another case",
            "S08",
            &[("account", "WANG.FANG")],
            Problem("account", "already used by line 4"),
        ),
        case(
            "e-mail without a domain",
            "S09",
            &[("email", "s09@")],
            Problem("email", "\"s09@\" is not an e-mail address"),
        ),
        case(
            "e-mail without @",
            "S10",
            &[("email", "s10.example.com")],
            Problem("email", "\"s10.example.com\" is not an e-mail address"),
        ),
        case(
            "e-mail with a display name",
            "S11",
            &[("email", "Zhang <s11@example.com>")],
            Problem("email", "\"Zhang <s11@example.com>\" is not an e-mail address"),
        ),
        case(
            "two e-mails in one field",
            "S12",
            &[("email", "s12@example.com;s12@example.org")],
            Problem(
                "email",
                "\"s12@example.com;s12@example.org\" is not an e-mail address",
            ),
        ),
        case(
            "e-mail with an empty domain label",
            "S13",
            &[("email", "s13@example..com")],
            Problem("email", "\"s13@example..com\" is not an e-mail address"),
        ),
        case(
            "mobile with letters",
            "S14",
            &[("mobile", "138abc00000")],
            Problem(
                "mobile",
                "\"138abc00000\" is not a mobile number (6 to 15 digits, optional leading +)",
            ),
        ),
        case(
            "mobile in Excel's scientific notation",
            "S15",
            &[("mobile", "1.38E+10")],
            Problem(
                "mobile",
                "\"1.38E+10\" is not a mobile number (6 to 15 digits, optional leading +)",
            ),
        ),
        case(
            "mobile too short",
            "S16",
            &[("mobile", "12345")],
            Problem(
                "mobile",
                "\"12345\" is not a mobile number (6 to 15 digits, optional leading +)",
            ),
        ),
        case(
            "mobile with Excel's text apostrophe",
            "S17",
            &[("mobile", "'13800000000")],
            Problem(
                "mobile",
                "\"'13800000000\" is not a mobile number (6 to 15 digits, optional leading +)",
            ),
        ),
        case(
            "mobile in full-width digits",
            "S18",
            &[("mobile", "１３８００００００００")],
            Problem(
                "mobile",
                "\"１３８００００００００\" is not a mobile number (6 to 15 digits, optional leading +)",
            ),
        ),
        case(
            "tel with letters",
            "S19",
            &[("tel", "021-1234 ext. 5")],
            Problem("tel", "\"021-1234 ext. 5\" is not a telephone number"),
        ),
        case(
            "name longer than 30 characters",
            "S20",
            &[("name", LONG_NAME)],
            Problem("name", "31 characters; CloudRoom accepts at most 30"),
        ),
        case(
            "unknown role",
            "S21",
            &[("role", "boss")],
            Problem(
                "role",
                "unknown role \"boss\"; use one of admin, scheduler, user, dept_admin, finance",
            ),
        ),
        case(
            "role as a roleType number",
            "S22",
            &[("role", "3")],
            Problem(
                "role",
                "unknown role \"3\"; use one of admin, scheduler, user, dept_admin, finance",
            ),
        ),
        case(
            "role with a space for the underscore",
            "S23",
            &[("role", "dept admin")],
            Problem(
                "role",
                "unknown role \"dept admin\"; use one of admin, scheduler, user, dept_admin, finance",
            ),
        ),
        case(
            "unknown status",
            "S24",
            &[("status", "retired")],
            Problem("status", "unknown status \"retired\"; use active or inactive"),
        ),
        case(
            "status in Chinese",
            "S25",
            &[("status", "离职")],
            Problem("status", "unknown status \"离职\"; use active or inactive"),
        ),
        case(
            "department path with an empty segment",
            "S26",
            &[("department", "研发 /  / 后端")],
            Problem("department", "\"研发 /  / 后端\" has an empty segment"),
        ),
        case(
            "department path with a leading separator",
            "S27",
            &[("department", "/ 研发 / 后端")],
            Problem("department", "\"/ 研发 / 后端\" has an empty segment"),
        ),
        case(
            "department path with a trailing separator",
            "S28",
            &[("department", "研发 / 后端 /")],
            Problem("department", "\"研发 / 后端 /\" has an empty segment"),
        ),
        case(
            "department_id reused for another path",
            "S29",
            &[("department", "市场 / 华南"), ("department_id", "D2")],
            Problem(
                "department_id",
                "\"D2\" is \"研发 / 后端\" on line 2, not \"市场 / 华南\"",
            ),
        ),
        case(
            "path given a second department_id",
            "S30",
            &[("department_id", "D7")],
            Problem("department_id", "\"研发 / 后端\" has department_id \"D2\" on line 2"),
        ),
        case(
            "department_id without a path",
            "S31",
            &[("department", "")],
            Problem("department_id", "given without a department path"),
        ),
        case(
            "avatar_url with another scheme",
            "S32",
            &[("avatar_url", "ftp://avatars.example.com/a.png")],
            Problem(
                "avatar_url",
                "\"ftp://avatars.example.com/a.png\" is not an http(s) URL",
            ),
        ),
        case(
            "avatar_url as a relative path",
            "S33",
            &[("avatar_url", "avatars/a.png")],
            Problem("avatar_url", "\"avatars/a.png\" is not an http(s) URL"),
        ),
        case(
            "initial_password too short",
            "S34",
            &[("initial_password", "Pw-4711")],
            Problem(
                "initial_password",
                "shorter than 8 characters (value not shown)",
            ),
        ),
        case(
            "account with a space",
            "S35",
            &[("account", "zhang san")],
            Problem(
                "account",
                "\"zhang san\" contains a space, a slash or a control character",
            ),
        ),
        case(
            "account with a slash",
            "S36",
            &[("account", "corp/zhang")],
            Problem(
                "account",
                "\"corp/zhang\" contains a space, a slash or a control character",
            ),
        ),
        case(
            "account with a zero-width space",
            "S37",
            &[("account", "s37\u{200B}")],
            Problem("account", "contains the invisible character U+200B"),
        ),
        case(
            "quoted name with an embedded line break",
            "S38",
            &[("name", "\"张\n三\"")],
            Problem("name", "contains the invisible character U+000A"),
        ),
        case(
            "tab in a name",
            "S39",
            &[("name", "张\t三")],
            Problem("name", "contains the invisible character U+0009"),
        ),
        case(
            "role in another case, with spaces",
            "S41",
            &[("role", " Admin ")],
            Accepted,
        ),
        case("status in capitals", "S42", &[("status", "ACTIVE")], Accepted),
        case(
            "optional field of whitespace only",
            "S43",
            &[("email", "   ")],
            Accepted,
        ),
        case(
            "mobile with country code, spaces and dashes",
            "S44",
            &[("mobile", "+86 138-0000-0001")],
            Accepted,
        ),
        Case {
            kind: "leaver without account or name (never pushed)",
            seeded: None,
            row: dh::person_row("L1", &[("account", ""), ("name", ""), ("status", "inactive")]),
            expect: Accepted,
            unkeyed: false,
        },
    ]
}

/// The bad export: good rows, then one row per kind, then the changes.
/// With `keyed_only`, rows without a usable employee_id are left out (the
/// person's good row stands in), so leaver deletes are not held wholesale.
fn bad_export(keyed_only: bool) -> (String, Vec<(u64, Case)>) {
    let mut text = String::from(dh::FULL_HEADER);
    text.push('\n');
    let mut line = 1;
    let mut push = |text: &mut String, row: &str| -> u64 {
        line += 1;
        let at = line;
        text.push_str(row);
        text.push('\n');
        line += row.matches('\n').count() as u64;
        at
    };
    for row in good_rows() {
        push(&mut text, &row);
    }
    let mut placed = Vec::new();
    for case in cases() {
        if keyed_only && case.unkeyed {
            if let Some(id) = case.seeded {
                push(
                    &mut text,
                    &dh::person_row(id, &[("account", &id.to_lowercase())]),
                );
            }
            continue;
        }
        let at = push(&mut text, &case.row);
        placed.push((at, case));
    }
    for row in changed_rows() {
        push(&mut text, &row);
    }
    (text, placed)
}

/// The first, good push: every person a kind's row refers to, as they were.
fn seed_export() -> String {
    let mut rows = vec![dh::FULL_HEADER.to_string()];
    rows.extend(good_rows());
    rows.push(dh::person_row("U1", &[]));
    for case in cases() {
        if let Some(id) = case.seeded {
            rows.push(dh::person_row(id, &[("account", &id.to_lowercase())]));
        }
    }
    rows.join("\n") + "\n"
}

fn bad_input_doc() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/bad-input.md"))
        .expect("docs/bad-input.md")
}

/// CloudRoom users by account, as `world_view` shows them.
fn cloudroom_users(sim: &RunningSimulator) -> BTreeMap<String, String> {
    dh::world_view(sim).0
}

async fn run(
    settings: &confsync::configuration::Settings,
    db: &common::TestDb,
) -> anyhow::Result<directory::ApplySummary> {
    Ok(dh::run_apply(
        settings,
        db,
        ApplyOptions::default(),
        CancellationToken::new(),
    )
    .await?
    .report)
}

#[tokio::test]
async fn every_kind_of_bad_row_is_reported_good_rows_arrive_and_nothing_is_deleted() {
    let sim = common::simulator(common::small_sim()).await;
    let db = common::migrated_db().await;
    let (_dir, path) = dh::write_source("hr.csv", seed_export().as_bytes());
    let settings = dh::settings(&sim, &db, &path);
    let seeded = dh::apply(&settings, &db).await;
    assert!(!seeded.failed() && seeded.problems.is_empty(), "{seeded}");
    let before = cloudroom_users(&sim);
    let aliyun_calls_before = lock(&sim.state.aliyun).log.len();

    let (text, placed) = bad_export(false);
    assert!(placed.len() >= 30 + 5, "{} kinds", placed.len());
    dh::rewrite(&path, &text);
    let summary = dh::apply(&settings, &db).await;
    assert!(!summary.failed(), "{summary}");

    // Every kind: exactly the expected problem on its own line, or none.
    let mut by_line: BTreeMap<u64, Vec<(&str, &str)>> = BTreeMap::new();
    for p in &summary.problems {
        by_line
            .entry(p.line)
            .or_default()
            .push((p.field, p.reason.as_str()));
    }
    let doc = bad_input_doc();
    for (line, case) in &placed {
        let found = by_line.remove(line).unwrap_or_default();
        match case.expect {
            Problem(field, reason) => {
                assert_eq!(found, vec![(field, reason)], "{} (line {line})", case.kind);
                assert!(doc.contains(reason), "docs/bad-input.md quotes {reason:?}");
            }
            Accepted => assert!(found.is_empty(), "{}: {found:?}", case.kind),
        }
        assert!(
            doc.contains(case.kind),
            "docs/bad-input.md lists {:?}",
            case.kind
        );
    }
    assert!(by_line.is_empty(), "problems on other lines: {by_line:?}");

    // Good rows went through: creates and updates in both targets.
    let after = cloudroom_users(&sim);
    for account in ["n1", "n2", "u1"] {
        assert!(after.contains_key(account), "{account} in CloudRoom");
    }
    assert!(
        after["u1"].contains("Some(\"13900000001\")"),
        "{}",
        after["u1"]
    );
    assert!(after["n2"].ends_with("|1|公司 > 市场"), "{}", after["n2"]);
    assert!(
        after["s41"].contains("|1|"),
        "role \" Admin \" read as admin: {}",
        after["s41"]
    );
    assert!(
        after["s43"].contains("|None|3|"),
        "e-mail cleared: {}",
        after["s43"]
    );
    assert!(
        after["s44"].contains("Some(\"+8613800000001\")"),
        "{}",
        after["s44"]
    );
    {
        let aliyun = lock(&sim.state.aliyun);
        for id in ["N1", "N2", "U1"] {
            assert!(aliyun.users.contains_key(id), "{id} in Aliyun");
        }
        assert_eq!(
            aliyun.users["U1"].user_mobile.as_deref(),
            Some("13900000001")
        );
        assert!(
            !aliyun.users.contains_key("L1"),
            "a leaver is never created"
        );
        // Held people got no call: the Aliyun calls of this run name only
        // the people whose good rows changed.
        let sent: BTreeSet<&str> = aliyun
            .log
            .iter()
            .skip(aliyun_calls_before)
            .flat_map(|c| c.user_ids.iter().map(String::as_str))
            .collect();
        assert_eq!(sent, ["N1", "N2", "S43", "S44", "U1"].into_iter().collect(),);
    }
    assert_eq!(
        lock(&sim.state.cloudroom)
            .user("n2")
            .map(|u| secrecy::ExposeSecret::expose_secret(&u.password).to_string()),
        Some("Given-Pass-4711".to_string())
    );
    // People whose rows are bad are left exactly as they were.
    for (_, case) in &placed {
        if let (Some(id), Problem(..)) = (case.seeded, case.expect) {
            let account = id.to_lowercase();
            assert_eq!(after.get(&account), before.get(&account), "{}", case.kind);
        }
    }
    assert_eq!(dh::deletes(&sim), 0, "no delete after a read with bad rows");

    // Without the rows that lack an employee_id, leaver deletes are no
    // longer held wholesale: still, nobody whose row is bad is deleted.
    let (text, placed) = bad_export(true);
    dh::rewrite(&path, &text);
    let keyed = dh::apply(&settings, &db).await;
    assert!(!keyed.failed(), "{keyed}");
    let expected_problems = placed
        .iter()
        .filter(|(_, c)| matches!(c.expect, Problem(..)))
        .count();
    assert_eq!(keyed.problems.len(), expected_problems, "{keyed}");
    assert_eq!(dh::deletes(&sim), 0, "held people are not leavers");
    let now = cloudroom_users(&sim);
    assert!(
        before.keys().all(|a| now.contains_key(a)),
        "everyone pushed first is still in CloudRoom"
    );
    assert_eq!(
        lock(&sim.state.aliyun).users.len(),
        before.len() + 2,
        "everyone pushed first is still in Aliyun, plus N1 and N2"
    );
}

#[tokio::test]
async fn a_leaver_row_without_account_deletes_the_person_pushed_before() {
    let sim = common::simulator(common::small_sim()).await;
    let db = common::migrated_db().await;
    let seed = format!(
        "{}\n{}\n{}\n",
        dh::FULL_HEADER,
        dh::person_row("G1", &[]),
        dh::person_row("P1", &[])
    );
    let (_dir, path) = dh::write_source("hr.csv", seed.as_bytes());
    let settings = dh::settings(&sim, &db, &path);
    assert!(!dh::apply(&settings, &db).await.failed());
    dh::rewrite(
        &path,
        &format!(
            "{}\n{}\n{}\n",
            dh::FULL_HEADER,
            dh::person_row("G1", &[]),
            dh::person_row(
                "P1",
                &[("account", ""), ("name", ""), ("status", "inactive")]
            )
        ),
    );
    let summary = dh::apply(&settings, &db).await;
    assert!(
        !summary.failed() && summary.problems.is_empty(),
        "{summary}"
    );
    assert_eq!(summary.outcomes["cloudroom_users"].deleted, 1, "{summary}");
    assert!(lock(&sim.state.cloudroom).user("p1").is_none());
    assert!(!lock(&sim.state.aliyun).users.contains_key("P1"));
    assert!(lock(&sim.state.cloudroom).user("g1").is_some());
}

/// A file-level kind: the bytes, and what the error says (or `None`: read).
struct FileCase {
    kind: &'static str,
    name: &'static str,
    bytes: Vec<u8>,
    message: Option<&'static str>,
}

fn file_case(
    kind: &'static str,
    name: &'static str,
    bytes: Vec<u8>,
    message: Option<&'static str>,
) -> FileCase {
    FileCase {
        kind,
        name,
        bytes,
        message,
    }
}

fn csv_of(rows: &[String]) -> Vec<u8> {
    let mut text = vec![dh::FULL_HEADER.to_string()];
    text.extend(rows.iter().cloned());
    (text.join("\n") + "\n").into_bytes()
}

fn seed_people() -> Vec<String> {
    ["F1", "F2", "F3", "F4"]
        .iter()
        .map(|id| dh::person_row(id, &[]))
        .collect()
}

fn file_cases() -> Vec<FileCase> {
    let people = seed_people();
    let with_new: Vec<String> = people
        .iter()
        .cloned()
        .chain([dh::person_row("F5", &[])])
        .collect();
    let whole = csv_of(&with_new);
    let truncated = whole[..whole.len() - 25].to_vec();
    // The whole export with F5, as Excel on a Chinese Windows saves it.
    let gbk = encoding_rs::GB18030
        .encode(&String::from_utf8_lossy(&whole))
        .0
        .into_owned();
    assert!(
        std::str::from_utf8(&gbk).is_err(),
        "the fixture holds GBK bytes"
    );
    let mut neither = csv_of(&people);
    neither.extend(b"F5,f5,\xff\xfe\xfd,f5@example.com,,,,,,,active,\n");
    let mut utf16 = vec![0xFF, 0xFE];
    for unit in String::from_utf8_lossy(&whole).encode_utf16() {
        utf16.extend(unit.to_le_bytes());
    }
    let mut bom_crlf = b"\xEF\xBB\xBF".to_vec();
    bom_crlf.extend(
        String::from_utf8_lossy(&whole)
            .replace('\n', "\r\n")
            .into_bytes(),
    );
    let mut extra = with_new.clone();
    extra[2].push_str(",surplus");
    let mut short = with_new.clone();
    short[2] = short[2]
        .rsplit_once(',')
        .map(|(a, _)| a.to_string())
        .unwrap_or_default();
    let unknown_column = {
        let mut rows = vec![format!("{},hire_date", dh::FULL_HEADER)];
        rows.extend(with_new.iter().map(|r| format!("{r},2020-01-01")));
        (rows.join("\n") + "\n").into_bytes()
    };
    let no_account_column = {
        let header = dh::FULL_HEADER.replace("account,", "login,");
        let mut rows = vec![header];
        rows.extend(with_new.iter().cloned());
        (rows.join("\n") + "\n").into_bytes()
    };
    let duplicate_column = {
        let mut rows = vec![format!("{},EMAIL", dh::FULL_HEADER)];
        rows.extend(with_new.iter().map(|r| format!("{r},x@example.com")));
        (rows.join("\n") + "\n").into_bytes()
    };
    let semicolons = String::from_utf8_lossy(&whole)
        .replace(',', ";")
        .into_bytes();
    let mut repeated_header = people.clone();
    repeated_header.push(dh::FULL_HEADER.to_string());
    repeated_header.push(dh::person_row("F5", &[]));
    let mut open_quote = people.clone();
    open_quote.insert(1, dh::person_row("F5", &[("name", "\"张三")]));
    vec![
        file_case("truncated file (cut mid-row)", "hr.csv", truncated, Some("line 6: 8 fields where the header has 12; the file is truncated or malformed")),
        file_case("empty file (0 bytes)", "hr.csv", Vec::new(), Some("the source has no rows; nothing was changed")),
        file_case("file of blank lines", "hr.csv", b"\n\r\n  \n".to_vec(), Some("the source has no rows; nothing was changed")),
        file_case("header-only file", "hr.csv", csv_of(&[]), Some("the source has no rows; nothing was changed")),
        file_case("GBK from Excel (directory.encoding = auto)", "hr.csv", gbk, None),
        file_case("neither UTF-8 nor GB18030", "hr.csv", neither, Some("line 6: not UTF-8 or GB18030 text (directory.encoding); re-export the file as UTF-8")),
        file_case("UTF-16 (Excel's Unicode Text)", "hr.csv", utf16, Some("is UTF-16 text (Excel's \"Unicode Text\"); save it as \"CSV UTF-8\" instead")),
        file_case("row with an extra column", "hr.csv", csv_of(&extra), Some("line 4: 13 fields where the header has 12; the file is truncated or malformed")),
        file_case("row with a missing column", "hr.csv", csv_of(&short), Some("line 4: 11 fields where the header has 12; the file is truncated or malformed")),
        file_case("quote never closed", "hr.csv", csv_of(&open_quote), Some("fields where the header has 12; the file is truncated or malformed")),
        file_case("missing required header", "hr.csv", no_account_column, Some("no account column (looked for header \"account\"); map it in [directory.columns]")),
        file_case("duplicate header", "hr.csv", duplicate_column, Some("2 columns are headed \"email\" (field email); keep one")),
        file_case("semicolons instead of commas", "hr.csv", semicolons, Some("the header is separated by ';', not commas; export it as comma-separated CSV")),
        file_case("header row repeated mid-file", "hr.csv", csv_of(&repeated_header), Some("line 6: the header row again; were two exports pasted together?")),
        file_case("JSON Lines: a line that is not an object", "hr.jsonl", b"{\"employee_id\":\"F1\",\"account\":\"f1\",\"name\":\"a\"}\n[\"F2\",\"f2\"]\n".to_vec(), Some("line 2: not a JSON object: invalid type: sequence, expected a map")),
        file_case("JSON Lines: invalid JSON (cut off)", "hr.jsonl", b"{\"employee_id\":\"F1\",\"account\":\"f1\",\"name\":\"a\"}\n{\"employee_id\":\"F2\",\"account\":".to_vec(), Some("line 2: not a JSON object: EOF while parsing a value")),
        file_case("JSON Lines: an object where text belongs", "hr.jsonl", b"{\"employee_id\":\"F1\",\"account\":\"f1\",\"name\":\"a\",\"department\":{\"name\":\"R\"}}\n".to_vec(), Some("line 1: department: expected text, found a JSON array or object")),
        file_case("BOM and CRLF line ends", "hr.csv", bom_crlf, None),
        file_case("unknown column header", "hr.csv", unknown_column, None),
    ]
}

#[tokio::test]
async fn unreadable_files_are_refused_before_any_call_and_readable_ones_go_through() {
    let sim = common::simulator(common::small_sim()).await;
    let db = common::migrated_db().await;
    let dir = tempfile::tempdir().unwrap();
    let seed = dir.path().join("seed.csv");
    std::fs::write(&seed, csv_of(&seed_people())).unwrap();
    let seeded = dh::apply(&dh::settings(&sim, &db, &seed), &db).await;
    assert!(!seeded.failed(), "{seeded}");
    let doc = bad_input_doc();

    for case in file_cases() {
        let path = dir.path().join(case.name);
        std::fs::write(&path, &case.bytes).unwrap();
        let settings = dh::settings(&sim, &db, &path);
        let requests = dh::total_requests(&sim);
        let result = run(&settings, &db).await;
        match case.message {
            Some(message) => {
                let e = result.expect_err(case.kind);
                let shown = format!("{e:#}");
                eprintln!("{}: {shown}", case.kind);
                assert!(shown.contains(message), "{}: {shown}", case.kind);
                assert!(
                    e.downcast_ref::<DirectoryError>().is_some(),
                    "{}: a DirectoryError",
                    case.kind
                );
                assert!(
                    shown.contains("nothing was changed"),
                    "{}: {shown}",
                    case.kind
                );
                assert_eq!(
                    dh::total_requests(&sim),
                    requests,
                    "{}: no request",
                    case.kind
                );
                assert!(
                    doc.contains(message),
                    "docs/bad-input.md quotes {message:?}"
                );
            }
            None => {
                let summary = result.expect(case.kind);
                assert!(
                    !summary.failed() && summary.problems.is_empty(),
                    "{}: {summary}",
                    case.kind
                );
                assert!(
                    lock(&sim.state.cloudroom).user("f5").is_some(),
                    "{}",
                    case.kind
                );
                assert!(
                    lock(&sim.state.aliyun).users.contains_key("F5"),
                    "{}",
                    case.kind
                );
            }
        }
        assert!(
            doc.contains(case.kind),
            "docs/bad-input.md lists {:?}",
            case.kind
        );
        assert_eq!(dh::deletes(&sim), 0, "{}: no delete", case.kind);
    }
    let users = lock(&sim.state.cloudroom).users().count();
    assert_eq!(users, 5, "F1 to F5, nobody lost");
}

#[tokio::test]
async fn json_lines_rows_with_odd_types() {
    let sim = common::simulator(common::small_sim()).await;
    let db = common::migrated_db().await;
    let lines = [
        r#"{"employee_id":12345,"account":"num.id","name":"数字工号","mobile":13800000000}"#,
        r#"{"employee_id":"J2","account":"j2","name":"甲","status":true}"#,
        r#"{"employee_id":"J3","account":"j3","name":null}"#,
        r#"{"employee_id":"J4","account":"j4","name":"乙","department":"研发 / 后端"}"#,
    ]
    .join("\n");
    let (_dir, path) = dh::write_source("hr.jsonl", lines.as_bytes());
    let settings = dh::settings(&sim, &db, &path);
    let summary = dh::apply(&settings, &db).await;
    assert!(!summary.failed(), "{summary}");
    let problems: Vec<String> = summary.problems.iter().map(ToString::to_string).collect();
    let expected = [
        "line 2, field status: unknown status \"true\"; use active or inactive",
        "line 3, field name: missing (required)",
    ];
    assert_eq!(problems, expected);
    let doc = bad_input_doc();
    for kind in [
        "JSON Lines: a number as employee_id",
        "JSON Lines: a boolean where text belongs",
        "JSON Lines: null for a required field",
    ] {
        assert!(doc.contains(kind), "docs/bad-input.md lists {kind:?}");
    }
    assert!(lock(&sim.state.aliyun).users.contains_key("12345"));
    let world = lock(&sim.state.cloudroom);
    assert_eq!(
        world
            .user("num.id")
            .and_then(|u| u.mobile.clone())
            .as_deref(),
        Some("13800000000")
    );
    assert!(world.user("j4").is_some());
}
