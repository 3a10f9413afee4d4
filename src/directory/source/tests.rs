use super::*;

fn headers() -> Vec<(Field, String)> {
    header_names(&BTreeMap::new())
}

#[test]
fn csv_accepts_crlf_quotes_and_reports_lines() {
    let body = b"employee_id,account,name,department\r\nE1,a1,\"Zhang, San\",R / B\r\nE2,a2,\"two\nlines\",\r\nE3,a3,c,\r\n";
    let rows = parse_csv(Path::new("x.csv"), body, &headers()).unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0].get(Field::Name), Some("Zhang, San"));
    assert_eq!(rows[0].line, 2);
    assert_eq!(rows[2].line, 5);
    assert_eq!(rows[1].get(Field::Department), None);
}

#[test]
fn csv_errors_name_the_line() {
    let e = parse_csv(
        Path::new("x.csv"),
        b"employee_id,account,name\nE1,a,b\nE2,\xff,c\n",
        &headers(),
    )
    .unwrap_err();
    assert!(matches!(e, SourceError::NotUtf8 { line: 3, .. }), "{e}");
    let e = parse_csv(
        Path::new("x.csv"),
        b"employee_id,account,name\nE1,a,b\nE2,a",
        &headers(),
    )
    .unwrap_err();
    assert!(matches!(e, SourceError::FieldCount { line: 3, .. }), "{e}");
    let e = parse_csv(Path::new("x.csv"), b"employee_id,name\nE1,b\n", &headers()).unwrap_err();
    assert!(e.to_string().contains("account"), "{e}");
}

#[test]
fn csv_file_level_problems_are_named() {
    let parse = |body: &[u8]| parse_csv(Path::new("x.csv"), body, &headers());
    assert!(parse(b"").unwrap().is_empty());
    assert!(parse(b" \r\n").unwrap().is_empty());
    let e = parse(b"employee_id;account;name\nE1;a;b\n").unwrap_err();
    assert!(
        matches!(e, SourceError::Separator { separator: ';', .. }),
        "{e}"
    );
    let e = parse(b"employee_id,account,name,Email,email\nE1,a,b,c,d\n").unwrap_err();
    assert!(
        matches!(
            e,
            SourceError::DuplicateColumn {
                field: "email",
                count: 2,
                ..
            }
        ),
        "{e}"
    );
    let e = parse(b"employee_id,account,name\nE1,a,b\nemployee_id,account,name\n").unwrap_err();
    assert!(
        matches!(e, SourceError::RepeatedHeader { line: 3, .. }),
        "{e}"
    );
    let rows = parse(b"employee_id,account,name,hire_date\nE1,a,b,2020-01-01\n").unwrap();
    assert_eq!(rows.len(), 1);
}

#[test]
fn specs() {
    assert_eq!(
        SourceSpec::parse("postgres: select 1;").unwrap(),
        SourceSpec::Postgres("select 1".into())
    );
    assert!(matches!(
        SourceSpec::parse("a.jsonl").unwrap(),
        SourceSpec::JsonLines(_)
    ));
    assert!(matches!(
        SourceSpec::parse("a.csv").unwrap(),
        SourceSpec::Csv(_)
    ));
    assert!(SourceSpec::parse("postgres:").is_err());
}
