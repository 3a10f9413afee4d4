//! One typed method per documented endpoint.

use super::*;

impl CloudRoomClient {
    // ---------------------------------------------------------- conferences

    pub async fn create_conference(
        &self,
        body: &CreateConference,
    ) -> Result<CreatedConference, CloudRoomError> {
        let req = self.request(
            ep::CONFERENCE_CREATE,
            Method::POST,
            &["conference"],
            None,
            Some(body),
        )?;
        typed(ep::CONFERENCE_CREATE, self.execute(&req).await?)
    }

    pub async fn update_conference(
        &self,
        conf_id: i64,
        body: &UpdateConference,
    ) -> Result<(), CloudRoomError> {
        let id = conf_id.to_string();
        let req = self.request(
            ep::CONFERENCE_UPDATE,
            Method::PUT,
            &["conference", &id],
            None,
            Some(body),
        )?;
        self.execute(&req).await.map(drop)
    }

    pub async fn get_conference(&self, conf_id: i64) -> Result<ConferenceDetail, CloudRoomError> {
        let id = conf_id.to_string();
        let req = self.request(
            ep::CONFERENCE_GET,
            Method::GET,
            &["conference", &id],
            None,
            NO_BODY,
        )?;
        let value = self.execute(&req).await?;
        ConferenceDetail::from_value(value.clone(), self.inner.tz)
            .map_err(|e| decode_error(ep::CONFERENCE_GET, e, &value))
    }

    pub async fn join_conference(
        &self,
        conf_id: i64,
        query: &JoinConference,
    ) -> Result<JoinResult, CloudRoomError> {
        let id = conf_id.to_string();
        let query = to_value(query)?;
        let req = self.request(
            ep::CONFERENCE_JOIN,
            Method::GET,
            &["conference", &id, "join"],
            Some(&query),
            NO_BODY,
        )?;
        typed(ep::CONFERENCE_JOIN, self.execute(&req).await?)
    }

    pub async fn end_conference(&self, conf_id: i64) -> Result<(), CloudRoomError> {
        let id = conf_id.to_string();
        let req = self.request(
            ep::CONFERENCE_END,
            Method::POST,
            &["conference", &id, "end"],
            None,
            NO_BODY,
        )?;
        self.execute(&req).await.map(drop)
    }

    pub async fn delete_conference(&self, conf_id: i64) -> Result<(), CloudRoomError> {
        let id = conf_id.to_string();
        let req = self.request(
            ep::CONFERENCE_DELETE,
            Method::DELETE,
            &["conference", &id],
            None,
            NO_BODY,
        )?;
        self.execute(&req).await.map(drop)
    }

    /// Scheduled and in-progress conferences.
    pub async fn list_conferences(
        &self,
        query: &ListQuery,
    ) -> Result<Page<ConferenceRecord>, CloudRoomError> {
        self.page(ep::CONFERENCE_LIST, &["conference", "list"], query)
            .await
    }

    /// Ended conferences.
    pub async fn list_history(
        &self,
        query: &ListQuery,
    ) -> Result<Page<ConferenceRecord>, CloudRoomError> {
        self.page(
            ep::CONFERENCE_HISTORY,
            &["conference", "history", "list"],
            query,
        )
        .await
    }

    // ---------------------------------------------------------- recordings

    /// Recordings of one conference; only `current` and `size` of `query`
    /// are sent, as the document defines no other filters here.
    pub async fn list_videos(
        &self,
        conf_id: i64,
        query: &ListQuery,
    ) -> Result<Page<VideoRecord>, CloudRoomError> {
        let id = conf_id.to_string();
        self.page(ep::VIDEO_LIST, &["video", &id], &query.paging_only())
            .await
    }

    pub async fn delete_video(&self, file_id: &str) -> Result<(), CloudRoomError> {
        let req = self.request(
            ep::VIDEO_DELETE,
            Method::DELETE,
            &["video", file_id],
            None,
            NO_BODY,
        )?;
        self.execute(&req).await.map(drop)
    }

    // ----------------------------------------- companies (platform credentials)

    pub async fn create_company(&self, body: &CreateCompany) -> Result<Company, CloudRoomError> {
        let req = self.request(
            ep::COMPANY_CREATE,
            Method::POST,
            &["company"],
            None,
            Some(body),
        )?;
        typed(ep::COMPANY_CREATE, self.execute(&req).await?)
    }

    pub async fn update_company(
        &self,
        comp_guid: &str,
        body: &UpdateCompany,
    ) -> Result<(), CloudRoomError> {
        let req = self.request(
            ep::COMPANY_UPDATE,
            Method::PUT,
            &["company", comp_guid],
            None,
            Some(body),
        )?;
        self.execute(&req).await.map(drop)
    }

    pub async fn delete_company(&self, comp_guid: &str) -> Result<(), CloudRoomError> {
        let req = self.request(
            ep::COMPANY_DELETE,
            Method::DELETE,
            &["company", comp_guid],
            None,
            NO_BODY,
        )?;
        self.execute(&req).await.map(drop)
    }

    // ---------------------------------------------------------------- users

    pub async fn create_user(&self, body: &CreateUser) -> Result<User, CloudRoomError> {
        let req = self.request(ep::USER_CREATE, Method::POST, &["user"], None, Some(body))?;
        typed(ep::USER_CREATE, self.execute(&req).await?)
    }

    pub async fn update_user(
        &self,
        account: &str,
        body: &UpdateUser,
    ) -> Result<(), CloudRoomError> {
        let req = self.request(
            ep::USER_UPDATE,
            Method::PUT,
            &["user", account],
            None,
            Some(body),
        )?;
        self.execute(&req).await.map(drop)
    }

    pub async fn delete_user(&self, account: &str) -> Result<(), CloudRoomError> {
        let req = self.request(
            ep::USER_DELETE,
            Method::DELETE,
            &["user", account],
            None,
            NO_BODY,
        )?;
        self.execute(&req).await.map(drop)
    }

    // ---------------------------------------------------------- departments

    pub async fn create_department(
        &self,
        body: &DepartmentRequest,
    ) -> Result<Department, CloudRoomError> {
        let req = self.request(
            ep::DEPARTMENT_CREATE,
            Method::POST,
            &["department"],
            None,
            Some(body),
        )?;
        typed(ep::DEPARTMENT_CREATE, self.execute(&req).await?)
    }

    pub async fn update_department(
        &self,
        department_id: i64,
        body: &DepartmentRequest,
    ) -> Result<Department, CloudRoomError> {
        let id = department_id.to_string();
        let req = self.request(
            ep::DEPARTMENT_UPDATE,
            Method::PUT,
            &["department", &id],
            None,
            Some(body),
        )?;
        typed(ep::DEPARTMENT_UPDATE, self.execute(&req).await?)
    }

    /// Members move to the root department and become ordinary users.
    pub async fn delete_department(&self, department_id: i64) -> Result<(), CloudRoomError> {
        let id = department_id.to_string();
        let req = self.request(
            ep::DEPARTMENT_DELETE,
            Method::DELETE,
            &["department", &id],
            None,
            NO_BODY,
        )?;
        self.execute(&req).await.map(drop)
    }
}
