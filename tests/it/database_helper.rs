use crate::common;

#[tokio::test]
async fn each_test_gets_its_own_database() {
    let a = common::test_db().await;
    let b = common::test_db().await;
    assert_ne!(a.name, b.name);
    let (current,): (String,) = sqlx::query_as("select current_database()")
        .fetch_one(&a.pool)
        .await
        .unwrap();
    assert_eq!(current, a.name);
}
