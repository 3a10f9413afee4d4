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
        let (answer, mut request_ids) = with_request_ids(async {
            match stored_id {
                Some(id) => match client.update_department(id, &body).await {
                    Ok(_) => Ok(id),
                    // Deleted in CloudRoom's own console: create it again.
                    Err(e) if e.is_not_found() => {
                        done.action = "department.recreate";
                        created_id(client.create_department(&body).await)
                    }
                    Err(e) => Err(e.into()),
                },
                None => created_id(client.create_department(&body).await),
            }
        })
        .await;
        done.request_id = request_ids.pop();
        done.result =
            answer.map(|cloudroom_id| Applied::Department(department_write(dept, cloudroom_id)));
        done
    }

    pub(super) async fn delete_departments(
        &self,
        client: &CloudRoomClient,
        users_ok: bool,
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
                .map(|change| self.delete_department(client, change))
                .buffer_unordered(self.concurrency)
                .boxed()
                .collect()
                .await;
            self.save(done, executed).await?;
        }
        Ok(())
    }

    async fn delete_department(&self, client: &CloudRoomClient, change: &Change) -> Done {
        let id = self
            .plan
            .stored_departments
            .get(&change.key)
            .map(|d| d.cloudroom_id);
        let mut request_ids = Vec::new();
        let result = match id {
            Some(id) => {
                let (answer, ids) = with_request_ids(client.delete_department(id)).await;
                request_ids = ids;
                removed(answer)
            }
            None => Err(refused("no CloudRoom id recorded")),
        };
        let action = "department.delete";
        Done::cloudroom(Kind::Department, change, action, request_ids.pop(), result)
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
