use super::*;

#[test]
fn file_ids_round_trip_and_order_as_text() {
    let hex = "a1b27fe0212f42458c38aa86858939ee";
    assert!(matches!(FileId::parse(hex), FileId::Hex(_)));
    assert_eq!(FileId::parse(hex).to_string(), hex);
    let decimal = FileId::parse("387702296195782359");
    assert!(matches!(decimal, FileId::Other(_)));
    assert!(decimal < FileId::parse(hex));
}

#[test]
fn workday_series_skip_weekends() {
    // 2026-01-02 was a Friday.
    let friday = shanghai_day(1_767_312_000);
    assert!(!is_weekend(friday));
    assert_eq!(next_occurrence_day(2, friday), friday + 3);
}

#[test]
fn monthly_series_step_by_calendar_month() {
    let jan_31 = shanghai_day(1_769_817_600); // 2026-01-31 Shanghai
    assert_eq!(add_month(jan_31) - jan_31, 28);
}
