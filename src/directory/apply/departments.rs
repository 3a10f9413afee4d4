//! CloudRoom departments: created and updated parents first, deleted leaves first.

use super::*;

impl Executor<'_> {
    /// Level by level, so that every parent exists before its children.
    pub(super) async fn push_departments(
        &self,
        client: &CloudRoomClient,
        dept_ids: &mut HashMap<String, i64>,
        executed: &mut Executed,
    ) -> anyhow::Result<()> {
        let changes = self.changes(
            Target::CloudRoom,
            Kind::Department,
            &[Action::Create, Action::Update],
        );
        let mut levels: BTreeMap<usize, Vec<&Change>> = BTreeMap::new();
        for change in changes {
            if let Some(dept) = self.plan.department(&change.key) {
                levels.entry(dept.depth).or_default().push(change);
            }
        }
        for (_, level) in levels {
            if self.stopped(executed) {
                return Ok(());
            }
            // The parents' ids, as they stood when this level began.
            let parents = dept_ids.clone();
            // Each result is saved as soon as it arrives: CloudRoom cannot list
            // departments, so an id not recorded before a crash means a
            // duplicate on the next run; this keeps that to the requests in flight.
            let mut results = stream::iter(level)
                .map(|change| self.push_department(client, change, &parents))
                .buffer_unordered(self.concurrency)
                .boxed()
                .ready_chunks(self.concurrency);
            while let Some(done) = results.next().await {
                for d in &done {
                    if let Ok(Applied::Department(w)) = &d.result {
                        dept_ids.insert(w.key.clone(), w.cloudroom_id);
                    }
                }
                self.save(done, executed).await?;
            }
        }
        Ok(())
    }

    pub(super) async fn push_department(
        &self,
        client: &CloudRoomClient,
        change: &Change,
        ids: &HashMap<String, i64>,
    ) -> Done {
        let action = match change.action {
            Action::Create => "department.create",
            _ => "department.update",
        };
        let mut done = Done::cloudroom(
            Kind::Department,
            change,
            action,
            None,
            Err(refused("not in the plan")),
        );
        let Some(dept) = self.plan.department(&change.key) else {
            return done;
        };
        let parent_id = match &dept.parent_key {
            None => Some(CLOUDROOM_ROOT_ID),
            Some(key) => ids.get(key).copied(),
        };
        let Some(parent_id) = parent_id else {
            done.result = Err(refused("its parent department could not be created"));
            return done;
        };
        let body = DepartmentRequest {
            name: dept.name.clone(),
            parent_id,
        };
        let stored_id = self
            .plan
            .stored_departments
            .get(&dept.key)
            .map(|d| d.cloudroom_id);
        let (answer, mut request_ids) = with_request_ids(send(client, stored_id, &body)).await;
        done.request_id = request_ids.pop();
        done.result = match answer {
            Ok((created, recreated)) => {
                if recreated {
                    done.action = "department.recreate";
                }
                created_id(Ok(created))
                    .map(|cloudroom_id| Applied::Department(department_write(dept, cloudroom_id)))
            }
            // The POST may have made the department: never sent again
            // until a person settles it (`confsync directory settle`).
            Err((e, true)) if e.may_have_taken_effect() => {
                Ok(uncertain(dept, done.request_id.clone()))
            }
            Err((e, _)) => Err(e.into()),
        };
        done
    }

    pub(super) async fn delete_departments(
        &self,
        client: &CloudRoomClient,
        users_ok: bool,
        dept_ids: &HashMap<String, i64>,
        executed: &mut Executed,
    ) -> anyhow::Result<()> {
        let changes = self.changes(Target::CloudRoom, Kind::Department, &[Action::Delete]);
        if changes.is_empty() {
            return Ok(());
        }
        if !users_ok {
            // A user who failed to move out would land at the root as an
            // ordinary user: wait for a run in which every user moved.
            executed.held.push(format!(
                "{} department delete(s) wait for a run in which every CloudRoom user change succeeds",
                changes.len()
            ));
            return Ok(());
        }
        // Changes come leaves first; a level is every department of one depth.
        let mut levels: BTreeMap<std::cmp::Reverse<usize>, Vec<&Change>> = BTreeMap::new();
        for change in changes {
            let depth = change.label.matches(model::PATH_SEPARATOR).count();
            levels
                .entry(std::cmp::Reverse(depth))
                .or_default()
                .push(change);
        }
        for (_, level) in levels {
            if self.stopped(executed) {
                return Ok(());
            }
            let done: Vec<Done> = stream::iter(level)
                .map(|change| self.delete_department(client, change, dept_ids))
                .buffer_unordered(self.concurrency)
                .boxed()
                .collect()
                .await;
            self.save(done, executed).await?;
        }
        Ok(())
    }

    /// Proof, then the DELETE: a PUT of the name and parent confsync
    /// recorded must come back naming this department (it exists, and it
    /// is the one recorded). A PUT refused means CloudRoom no longer has it:
    /// the record is forgotten and no DELETE is sent.
    async fn delete_department(
        &self,
        client: &CloudRoomClient,
        change: &Change,
        dept_ids: &HashMap<String, i64>,
    ) -> Done {
        let action = "department.delete";
        let Some(stored) = self.plan.stored_departments.get(&change.key) else {
            let result = Err(refused("no CloudRoom id recorded"));
            return Done::cloudroom(Kind::Department, change, action, None, result);
        };
        let parent_id = match &stored.parent_key {
            None => Some(CLOUDROOM_ROOT_ID),
            Some(key) => dept_ids.get(key).copied(),
        };
        let body = DepartmentRequest {
            name: stored.name.clone(),
            parent_id: parent_id.unwrap_or(CLOUDROOM_ROOT_ID),
        };
        let id = stored.cloudroom_id;
        let (result, mut request_ids) = with_request_ids(async {
            match client.update_department(id, &body).await {
                Ok(d) if d.department_id.is_some_and(|got| got != id)
                    || d.name.as_deref().is_some_and(|n| n != stored.name) =>
                {
                    Err(refused(format!(
                        "not deleted: a PUT of department {id} answered another department ({:?}, {:?})",
                        d.department_id, d.name
                    )))
                }
                Ok(_) => match client.delete_department(id).await {
                    Ok(()) => Ok(action),
                    Err(e) => Err(Refused::from(e)),
                },
                Err(e) if e.is_refused_request() => Ok("department.forget"),
                Err(e) => Err(Refused::from(e)),
            }
        })
        .await;
        let name = *result.as_ref().unwrap_or(&action);
        let removed = result.map(|_| Applied::Removed);
        Done::cloudroom(Kind::Department, change, name, request_ids.pop(), removed)
    }
}

pub(super) fn department_write(dept: &Department, cloudroom_id: i64) -> DepartmentWrite {
    DepartmentWrite {
        key: dept.key.clone(),
        cloudroom_id,
        name: dept.name.clone(),
        parent_key: dept.parent_key.clone(),
        path: dept.path.clone(),
        content_hash: model::hash(&dept.cloudroom_fields()),
    }
}

/// A PUT of a recorded department (a POST when it was deleted in the
/// console), or a POST of a new one: the department and whether it was
/// created. The error says whether it answered a POST, which may then
/// have made the department.
async fn send(
    client: &CloudRoomClient,
    stored_id: Option<i64>,
    body: &DepartmentRequest,
) -> Result<(crate::cloudroom::Department, bool), (CloudRoomError, bool)> {
    let create = || async { client.create_department(body).await.map_err(|e| (e, true)) };
    let Some(id) = stored_id else {
        return create().await.map(|d| (d, false));
    };
    match client.update_department(id, body).await {
        Ok(mut d) => {
            d.department_id = Some(id);
            Ok((d, false))
        }
        // Refused, with the parent known to exist: the department was
        // deleted in CloudRoom's console. Create it again.
        Err(e) if e.is_refused_request() => create().await.map(|d| (d, true)),
        Err(e) => Err((e, false)),
    }
}

/// A department whose create may have happened, for a person to settle.
fn uncertain(dept: &Department, request_id: Option<String>) -> Applied {
    Applied::Uncertain(UncertainDepartment {
        key: dept.key.clone(),
        name: dept.name.clone(),
        parent_key: dept.parent_key.clone(),
        path: dept.path.clone(),
        request_id,
        at: Utc::now(),
    })
}
