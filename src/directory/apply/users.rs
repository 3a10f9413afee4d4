//! CloudRoom users: created, adopted when the account exists, updated,
//! taken over by the person who now claims the account, deleted.
//!
//! The document gives an existing account and a missing one no code of
//! their own: both are the table's generic 400. So no answer is read for
//! its message. A refused POST is settled by a PUT (it succeeds only if
//! the account exists: adoption), a refused PUT by a POST (it succeeds
//! only if the account is gone: re-creation), and a DELETE is sent only
//! after a PUT in the same run proved the account is there.

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
        let released = self.released_accounts();
        let mut results = stream::iter(changes)
            .map(|change| {
                let releases = released.get(change.key.as_str()).map(|a| a.to_string());
                self.unless_cancelled(self.push_user(client, change, dept_ids, releases))
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

    pub(super) async fn push_user(
        &self,
        client: &CloudRoomClient,
        change: &Change,
        dept_ids: &HashMap<String, i64>,
        releases: Option<String>,
    ) -> Done {
        let action = match (change.action, &change.takeover) {
            (Action::Create, _) => "user.create",
            (_, Some(_)) => "user.takeover",
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
        let (outcome, mut request_ids) = with_request_ids(record.push(client, change)).await;
        done.request_id = request_ids.pop();
        done.result = outcome.map(|pushed| {
            if pushed.how == "adopted" {
                done.action = "user.adopt";
            }
            user_written(person, change, pushed, releases)
        });
        done
    }

    /// The account each person leaves for the one pushed, by employee id:
    /// the plan deletes it as replaced (now, or once a staged delete is
    /// released), and the store keeps it until that is done.
    fn released_accounts(&self) -> HashMap<&str, &str> {
        (self.plan.changes.iter())
            .filter(|c| c.replaced && c.action == Action::Delete && c.target == Target::CloudRoom)
            .map(|c| (c.key.as_str(), c.label.as_str()))
            .collect()
    }

    pub(super) async fn delete_users(
        &self,
        client: &CloudRoomClient,
        dept_ids: &HashMap<String, i64>,
        executed: &mut Executed,
    ) -> anyhow::Result<()> {
        // An account replaced by a new one goes only once its holder is
        // safely on the new one.
        let failed: HashSet<String> = executed
            .failures
            .iter()
            .filter(|f| f.target == Target::CloudRoom.as_str())
            .map(|f| f.object.clone())
            .collect();
        let changes: Vec<&Change> = self
            .changes(Target::CloudRoom, Kind::User, &[Action::Delete])
            .into_iter()
            .filter(|c| !(c.replaced && failed.contains(&c.key)))
            .collect();
        let mut results = stream::iter(changes)
            .map(|change| self.unless_cancelled(self.delete_user(client, change, dept_ids)))
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

    /// Proof, then the DELETE: a PUT of exactly the fields last sent (a
    /// no-op for the account) must succeed first, so the account exists
    /// now. The plan has already checked, against the whole export read in
    /// this run, that no row claims it and that it is not protected. A PUT
    /// refused means CloudRoom no longer has the account: the record is
    /// forgotten and no DELETE is sent.
    async fn delete_user(
        &self,
        client: &CloudRoomClient,
        change: &Change,
        dept_ids: &HashMap<String, i64>,
    ) -> Done {
        let account = change.label.clone();
        // The fields last sent for this account: kept with it when its
        // holder left it in an earlier apply, else the holder's record.
        let recorded = match self.plan.released.get(&account) {
            Some(released) => released.fields.as_ref(),
            None => (self.plan.recorded.get(&change.key)).and_then(|r| r.cloudroom.as_ref()),
        };
        let probe = recorded_update(recorded, dept_ids);
        let (result, mut request_ids) = with_request_ids(async {
            match client.update_user(&account, &probe).await {
                Ok(()) => match client.delete_user(&account).await {
                    Ok(()) => Ok("user.delete"),
                    Err(e) => Err(Refused::from(e)),
                },
                Err(e) if e.is_refused_request() => Ok("user.forget"),
                Err(e) => Err(Refused::from(e)),
            }
        })
        .await;
        let action = *result.as_ref().unwrap_or(&"user.delete");
        let removed = result.map(|_| Applied::RemovedAccount(account));
        Done::cloudroom(Kind::User, change, action, request_ids.pop(), removed)
    }
}

/// The PUT that re-sends a record's last fields (the proof before a
/// delete). The whole record: an omitted departmentId would move the user
/// to the root and an omitted roleType reset it.
fn recorded_update(
    recorded: Option<&serde_json::Value>,
    dept_ids: &HashMap<String, i64>,
) -> UpdateUser {
    let text = |key: &str| {
        recorded
            .and_then(|r| r.get(key))
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    let department_id = text("department")
        .and_then(|key| dept_ids.get(&key).copied())
        .unwrap_or(CLOUDROOM_ROOT_ID);
    let role_type = recorded
        .and_then(|r| r.get("roleType"))
        .and_then(|v| v.as_i64())
        .and_then(|v| i32::try_from(v).ok());
    UpdateUser {
        password: None,
        name: text("name"),
        mobile: text("mobile"),
        department_id: Some(department_id),
        role_type,
        email: text("email"),
    }
}

/// One person's whole CloudRoom record: every PUT sends all of it, since
/// an omitted departmentId moves the user to the root and an omitted
/// roleType resets it.
pub(super) struct UserRecord<'a> {
    person: &'a Person,
    department_id: i64,
}

/// What a push did, and the account as CloudRoom now has it.
pub(super) struct Pushed {
    how: &'static str,
    account: String,
}

impl UserRecord<'_> {
    fn update(&self, password: Option<SecretString>) -> UpdateUser {
        let p = self.person;
        UpdateUser {
            password,
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

    fn password(&self) -> SecretString {
        self.person
            .initial_password
            .clone()
            .unwrap_or_else(password::generate)
    }

    /// A create (adopting an account that exists), or a PUT of the
    /// recorded account: with a new password when it passes to another
    /// person, so that its previous holder cannot sign in any more.
    async fn push(&self, client: &CloudRoomClient, change: &Change) -> Result<Pushed, Refused> {
        let Some(account) = change.recorded_account.clone() else {
            return self.create_or_adopt(client).await;
        };
        let new_holder = change.takeover.as_ref().is_some_and(|t| t.new_holder);
        let password = new_holder.then(|| self.password());
        match client
            .update_user(&account, &self.update(password.clone()))
            .await
        {
            Ok(()) => Ok(Pushed {
                how: "updated",
                account,
            }),
            // Refused: deleted in CloudRoom's console, or a field refused.
            // A create tells which: it succeeds only if the account is gone.
            Err(e) if e.is_refused_request() => {
                let password = password.unwrap_or_else(|| self.password());
                match client.create_user(&self.create(password)).await {
                    Ok(_) => Ok(Pushed {
                        how: "created",
                        account: self.person.account.clone(),
                    }),
                    Err(_) => Err(e.into()),
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    /// POST, and when it is refused or its answer is lost, a PUT of the
    /// person's fields: it succeeds only if the account exists, which
    /// settles both cases as an adoption (its password is left alone).
    async fn create_or_adopt(&self, client: &CloudRoomClient) -> Result<Pushed, Refused> {
        let account = self.person.account.clone();
        match client.create_user(&self.create(self.password())).await {
            Ok(_) => Ok(Pushed {
                how: "created",
                account,
            }),
            Err(e) if e.is_refused_request() || e.may_have_taken_effect() => {
                match client.update_user(&account, &self.update(None)).await {
                    Ok(()) => Ok(Pushed {
                        how: "adopted",
                        account,
                    }),
                    Err(_) => Err(e.into()),
                }
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// What the store keeps of a user CloudRoom now has; a takeover also
/// clears the record the account came from.
fn user_written(
    person: &Person,
    change: &Change,
    pushed: Pushed,
    releases: Option<String>,
) -> Applied {
    let fields = person.cloudroom_fields();
    let takeover = change.takeover.as_ref();
    let origin = match pushed.how {
        "created" | "adopted" => Some(pushed.how),
        _ => match takeover.and_then(|t| t.origin.as_deref()) {
            Some("created") => Some("created"),
            Some(_) => Some("adopted"),
            None => None,
        },
    };
    Applied::CloudRoomUser(UserWrite {
        employee_id: person.employee_id.clone(),
        taken_from: takeover.and_then(|t| Some((t.from.clone(), change.recorded_account.clone()?))),
        releases,
        account: pushed.account,
        origin,
        hash: model::hash(&fields),
        fields,
    })
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
