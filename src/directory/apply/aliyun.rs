//! Aliyun users: CreateUser upserts in batches, then DeleteUser, each
//! batch of `aliyun.batch_size` one call whose answer is every member's.
//! This is the one place Aliyun calls are batched.

use super::*;

impl Executor<'_> {
    /// CreateUser upserts, so creates and updates share batches.
    pub(super) async fn push_aliyun(
        &self,
        client: &AliyunClient,
        executed: &mut Executed,
    ) -> anyhow::Result<()> {
        let Some(group) = &self.plan.group else {
            return Ok(());
        };
        let changes = self.changes(
            Target::Aliyun,
            Kind::User,
            &[Action::Create, Action::Update],
        );
        let entries: Vec<(&Change, UserInfo)> = changes
            .into_iter()
            .filter_map(|c| {
                let person = self.plan.person(&c.key)?;
                Some((c, person.aliyun_user(group, &self.plan.desired.departments)))
            })
            .collect();
        for batch in entries.chunks(self.batch_size.max(1)) {
            if self.stopped(executed) {
                return Ok(());
            }
            let users: Vec<UserInfo> = batch.iter().map(|(_, u)| u.clone()).collect();
            let answer = client.create_user_batch(&users).await;
            let done = batch
                .iter()
                .map(|(change, user)| {
                    let fields = model::aliyun_fields(user);
                    aliyun_done(change, "CreateUser", &answer, || {
                        Applied::AliyunUser(UserWrite {
                            employee_id: change.key.clone(),
                            account: change.label.clone(),
                            taken_from: None,
                            origin: None,
                            hash: model::hash(&fields),
                            fields: fields.clone(),
                        })
                    })
                })
                .collect();
            self.save(done, executed).await?;
        }
        Ok(())
    }

    pub(super) async fn delete_aliyun(
        &self,
        client: &AliyunClient,
        executed: &mut Executed,
    ) -> anyhow::Result<()> {
        let changes = self.changes(Target::Aliyun, Kind::User, &[Action::Delete]);
        for batch in changes.chunks(self.batch_size.max(1)) {
            if self.stopped(executed) {
                return Ok(());
            }
            let ids: Vec<String> = batch.iter().map(|c| c.key.clone()).collect();
            let answer = client.delete_user_batch(&ids).await;
            let done = batch
                .iter()
                .map(|change| aliyun_done(change, "DeleteUser", &answer, || Applied::Removed))
                .collect();
            self.save(done, executed).await?;
        }
        Ok(())
    }

    // --------------------------------------------------------------- results
}

pub(super) fn aliyun_done(
    change: &Change,
    action: &'static str,
    answer: &Result<String, AliyunError>,
    applied: impl FnOnce() -> Applied,
) -> Done {
    let (request_id, result) = match answer {
        Ok(id) => (Some(id.clone()).filter(|s| !s.is_empty()), Ok(applied())),
        Err(e) => (e.request_id().map(str::to_string), Err(Refused::from(e))),
    };
    Done {
        target: Target::Aliyun,
        kind: Kind::User,
        planned: change.action,
        action,
        object: change.key.clone(),
        request_id,
        result,
    }
}
