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
                            releases: None,
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
            let (proven, mut done) = self.prove_deletes(client, batch).await;
            if !proven.is_empty() {
                let ids: Vec<String> = proven.iter().map(|c| c.key.clone()).collect();
                let answer = client.delete_user_batch(&ids).await;
                done.extend(
                    proven.iter().map(|change| {
                        aliyun_done(change, "DeleteUser", &answer, || Applied::Removed)
                    }),
                );
            }
            self.save(done, executed).await?;
        }
        Ok(())
    }

    /// A DeleteUser needs proof, in this run, that it removes what it
    /// thinks: GetUser must show the user, and in this enterprise's group
    /// when both groups are known. Anything else (a user CVC does not show,
    /// one of another group, a GetUser that fails) sends no DeleteUser: the
    /// leaver stays planned, the run says why, and the next run asks again.
    /// No answer's message is read: the document prints none to read.
    async fn prove_deletes<'c>(
        &self,
        client: &AliyunClient,
        batch: &[&'c Change],
    ) -> (Vec<&'c Change>, Vec<Done>) {
        let ours = self.plan.group.as_ref().map(|g| g.id.clone());
        let asks: Vec<_> = batch.iter().map(|&change| asked(client, change)).collect();
        let answers: Vec<_> = stream::iter(asks)
            .buffered(self.concurrency.max(1))
            .collect()
            .await;
        let (mut proven, mut unproven) = (Vec::new(), Vec::new());
        for (change, answer) in answers {
            let why = match answer {
                Ok(Some(user)) if same_group(ours.as_deref(), &user.group_id) => {
                    proven.push(change);
                    continue;
                }
                Ok(Some(user)) => format!(
                    "GetUser shows {} in group {:?}, not this enterprise's: no DeleteUser",
                    change.key, user.group_id
                ),
                Ok(None) => format!(
                    "GetUser does not show {}: no DeleteUser without proof",
                    change.key
                ),
                Err(e) => format!(
                    "GetUser of {} failed, so a DeleteUser has no proof: {}",
                    change.key,
                    crate::causes::Chain(&e)
                ),
            };
            unproven.push(Done {
                target: Target::Aliyun,
                kind: Kind::User,
                planned: change.action,
                action: "DeleteUser",
                object: change.key.clone(),
                request_id: None,
                result: Err(refused(why)),
            });
        }
        (proven, unproven)
    }
}

/// The change, and what GetUser says of its user.
async fn asked<'c>(
    client: &AliyunClient,
    change: &'c Change,
) -> (
    &'c Change,
    Result<Option<crate::aliyun::AliyunUser>, AliyunError>,
) {
    (change, client.get_user(&change.key).await)
}

/// Whether a user of group `theirs` is this enterprise's (`ours`); a group
/// either side does not know proves nothing against it.
fn same_group(ours: Option<&str>, theirs: &str) -> bool {
    ours.is_none_or(|ours| theirs.is_empty() || theirs == ours)
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
