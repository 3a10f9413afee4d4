//! CloudRoom users: created, adopted when the account exists, updated, deleted.

use super::*;

impl Executor<'_> {
    pub(super) async fn push_users(
        &self,
        client: &CloudRoomClient,
        dept_ids: &HashMap<String, i64>,
        executed: &mut Executed,
    ) -> anyhow::Result<()> {
        let changes = self.changes(
            Target::CloudRoom,
            Kind::User,
            &[Action::Create, Action::Update],
        );
        let mut results = stream::iter(changes)
            .map(|change| self.unless_cancelled(self.push_user(client, change, dept_ids)))
            .buffer_unordered(self.concurrency)
            .boxed()
            .filter_map(std::future::ready)
            .chunks(FLUSH_EVERY);
        while let Some(done) = results.next().await {
            self.save(done, executed).await?;
            if self.stopped(executed) {
                return Ok(());
            }
        }
        Ok(())
    }

    pub(super) async fn push_user(
        &self,
        client: &CloudRoomClient,
        change: &Change,
        dept_ids: &HashMap<String, i64>,
    ) -> Done {
        let action = match change.action {
            Action::Create => "user.create",
            _ => "user.update",
        };
        let mut done = Done::cloudroom(
            Kind::User,
            change,
            action,
            None,
            Err(refused("not in the plan")),
        );
        let Some(person) = self.plan.person(&change.key) else {
            return done;
        };
        let department_id = match &person.department {
            None => Some(CLOUDROOM_ROOT_ID),
            Some(key) => dept_ids.get(key).copied(),
        };
        let Some(department_id) = department_id else {
            done.result = Err(refused("its department could not be created"));
            return done;
        };
        let record = UserRecord {
            person,
            department_id,
        };
        if let (Action::Update, Some(_)) = (change.action, &change.old_account) {
            done.action = "user.replace";
        }
        let (outcome, mut request_ids) = with_request_ids(record.push(client, change)).await;
        done.request_id = request_ids.pop();
        done.result = outcome.map(|how| {
            if how == "adopted" {
                done.action = "user.adopt";
            }
            user_written(person, how)
        });
        done
    }

    pub(super) async fn delete_users(
        &self,
        client: &CloudRoomClient,
        executed: &mut Executed,
    ) -> anyhow::Result<()> {
        let changes = self.changes(Target::CloudRoom, Kind::User, &[Action::Delete]);
        let mut results = stream::iter(changes)
            .map(|change| {
                self.unless_cancelled(async move {
                    let (answer, mut request_ids) =
                        with_request_ids(client.delete_user(&change.label)).await;
                    Done::cloudroom(
                        Kind::User,
                        change,
                        "user.delete",
                        request_ids.pop(),
                        removed(answer),
                    )
                })
            })
            .buffer_unordered(self.concurrency)
            .boxed()
            .filter_map(std::future::ready)
            .chunks(FLUSH_EVERY);
        while let Some(done) = results.next().await {
            self.save(done, executed).await?;
            if self.stopped(executed) {
                return Ok(());
            }
        }
        Ok(())
    }

    // --------------------------------------------------------------- aliyun
}

/// One person's whole CloudRoom record: every PUT sends all of it, since
/// an omitted departmentId moves the user to the root and an omitted
/// roleType resets it.
pub(super) struct UserRecord<'a> {
    person: &'a Person,
    department_id: i64,
}

impl UserRecord<'_> {
    fn update(&self) -> UpdateUser {
        let p = self.person;
        UpdateUser {
            password: None,
            name: Some(p.name.clone()),
            mobile: p.mobile.clone(),
            department_id: Some(self.department_id),
            role_type: Some(p.role.role_type()),
            email: p.email.clone(),
        }
    }

    fn create(&self, password: SecretString) -> CreateUser {
        let p = self.person;
        CreateUser {
            account: p.account.clone(),
            password,
            name: p.name.clone(),
            mobile: p.mobile.clone(),
            department_id: Some(self.department_id),
            role_type: Some(p.role.role_type()),
            email: p.email.clone(),
        }
    }

    /// Creates the account, or adopts it when it already exists (its
    /// password is left alone) and makes it match with a PUT.
    /// Sends the change: an update (a create when CloudRoom lost the
    /// account), a new account replacing the old one, or a create.
    async fn push(
        &self,
        client: &CloudRoomClient,
        change: &Change,
    ) -> Result<&'static str, Refused> {
        match (change.action, &change.old_account) {
            (Action::Update, None) => {
                match client
                    .update_user(&self.person.account, &self.update())
                    .await
                {
                    Ok(()) => Ok("updated"),
                    // Deleted in CloudRoom's own console: create it again.
                    Err(e) if e.is_not_found() => self.create_or_adopt(client).await,
                    Err(e) => Err(e.into()),
                }
            }
            (Action::Update, Some(old)) => replace_account(client, self, old).await,
            _ => self.create_or_adopt(client).await,
        }
    }

    async fn create_or_adopt(&self, client: &CloudRoomClient) -> Result<&'static str, Refused> {
        let password = self
            .person
            .initial_password
            .clone()
            .unwrap_or_else(password::generate);
        match client.create_user(&self.create(password)).await {
            Ok(_) => Ok("created"),
            Err(e) if e.is_account_taken() => {
                client
                    .update_user(&self.person.account, &self.update())
                    .await?;
                Ok("adopted")
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// CloudRoom cannot rename an account: the new one is created (or adopted)
/// first, then the old one is deleted.
/// What the store keeps of a user CloudRoom now has.
fn user_written(person: &Person, how: &'static str) -> Applied {
    let fields = person.cloudroom_fields();
    Applied::CloudRoomUser(UserWrite {
        employee_id: person.employee_id.clone(),
        account: person.account.clone(),
        origin: matches!(how, "created" | "adopted").then_some(how),
        hash: model::hash(&fields),
        fields,
    })
}

pub(super) async fn replace_account(
    client: &CloudRoomClient,
    record: &UserRecord<'_>,
    old: &str,
) -> Result<&'static str, Refused> {
    let how = record.create_or_adopt(client).await?;
    match client.delete_user(old).await {
        Ok(()) => Ok(how),
        Err(e) if e.is_not_found() => Ok(how),
        Err(e) => Err(e.into()),
    }
}

pub(super) fn created_id(
    answer: Result<crate::cloudroom::Department, CloudRoomError>,
) -> Result<i64, Refused> {
    match answer {
        Ok(d) => d
            .department_id
            .ok_or_else(|| refused("CloudRoom created the department but sent no departmentId")),
        Err(e) => Err(e.into()),
    }
}
