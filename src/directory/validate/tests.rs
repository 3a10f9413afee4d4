use super::*;

fn row(fields: &[(Field, &str)]) -> RawRow {
    let mut row = RawRow::new(2);
    for (field, value) in fields {
        row.set(*field, value);
    }
    row
}

fn problems_of(fields: &[(Field, &str)]) -> Vec<RowProblem> {
    validate(vec![row(fields)], Role::Scheduler, IdCase::Insensitive).problems
}

const GOOD: [(Field, &str); 3] = [
    (Field::EmployeeId, "E1"),
    (Field::Account, "a1"),
    (Field::Name, "Ann"),
];

#[test]
fn emails() {
    for good in [
        "a@b.com",
        "a.b+c@x-y.example.com",
        "张三@例子.中国",
        "o'neil@x.io",
    ] {
        assert!(is_email(good), "{good}");
    }
    for bad in [
        "a@",
        "@b.com",
        "a@b",
        "a b@c.com",
        "a@@b.com",
        "a@b..com",
        "a@.com",
        "a@b.com.",
        "<a@b.com>",
        "mailto:a@b.com",
        "a..b@c.com",
        ".a@c.com",
        "a@-b.com",
        "a@b.com;c@d.com",
    ] {
        assert!(!is_email(bad), "{bad}");
    }
}

#[test]
fn control_and_invisible_characters_are_refused() {
    let mut fields = GOOD.to_vec();
    fields[2] = (Field::Name, "Ann\nLee");
    let p = problems_of(&fields);
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].field, "name");
    assert!(p[0].reason.contains("U+000A"), "{p:?}");
    fields[2] = (Field::Name, "Ann");
    fields[1] = (Field::Account, "a1\u{200B}");
    assert_eq!(problems_of(&fields)[0].field, "account");
    fields[1] = (Field::Account, "a1");
    fields[0] = (Field::EmployeeId, "\u{FEFF}E1");
    let desired = validate(vec![row(&fields)], Role::Scheduler, IdCase::Insensitive);
    assert_eq!(desired.problems[0].field, "employee_id");
    assert_eq!(desired.unkeyed_problems, 1, "the id cannot be trusted");
    assert!(desired.held.is_empty());
}

#[test]
fn a_short_password_is_refused_without_showing_it() {
    let mut fields = GOOD.to_vec();
    fields.push((Field::InitialPassword, "Pw-4711"));
    let p = problems_of(&fields);
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].field, "initial_password");
    assert!(!p[0].reason.contains("Pw-4711"), "{p:?}");
    fields[3] = (Field::InitialPassword, "Pw-47110");
    assert!(problems_of(&fields).is_empty());
}

#[test]
fn a_leaver_needs_only_an_employee_id() {
    let desired = validate(
        vec![row(&[
            (Field::EmployeeId, "E9"),
            (Field::Status, "Inactive"),
        ])],
        Role::Scheduler,
        IdCase::Insensitive,
    );
    assert!(desired.problems.is_empty(), "{:?}", desired.problems);
    assert!(!desired.people[0].active);
    let p = problems_of(&[(Field::EmployeeId, "E9"), (Field::Status, "active")]);
    let fields: Vec<&str> = p.iter().map(|p| p.field).collect();
    assert_eq!(fields, ["account", "name"]);
}
