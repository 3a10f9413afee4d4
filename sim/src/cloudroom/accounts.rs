//! Users, departments, companies.

use super::*;

/// The user as the create response shows it: no password, no user id.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UserReply<'a> {
    pub(crate) account: &'a str,
    pub(crate) name: &'a str,
    pub(crate) mobile: Option<&'a str>,
    pub(crate) department_id: i64,
    pub(crate) role_type: u8,
    pub(crate) email: Option<&'a str>,
}

impl<'a> From<&'a User> for UserReply<'a> {
    fn from(u: &'a User) -> Self {
        UserReply {
            account: &u.account,
            name: &u.name,
            mobile: u.mobile.as_deref(),
            department_id: u.department_id,
            role_type: u.role_type,
            email: u.email.as_deref(),
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DepartmentView {
    pub department_id: i64,
    pub name: String,
    pub parent_id: i64,
    pub full_path: String,
}

// Users, departments and companies: where the document gives no code (an
// account that already exists, an unknown account or department, a
// department with children, a missing required field) the simulator answers
// HTTP 500 with code 400 and a Chinese message naming the problem.

pub(crate) fn required_text<'a>(
    request: &'a Object,
    key: &str,
    missing: &'static str,
) -> ApiResult<&'a str> {
    opt_str(request, key)?
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ApiError::invalid(missing))
}

pub(crate) fn role_type(request: &Object) -> ApiResult<u8> {
    match opt_int(request, "roleType")? {
        None => Ok(ROLE_DEFAULT),
        Some(role @ 1..=5) => Ok(role as u8),
        Some(_) => Err(ApiError::invalid("角色类型错误")),
    }
}

impl World {
    pub(crate) fn department_exists(&self, id: i64) -> bool {
        id == ROOT_DEPARTMENT_ID || self.departments.contains_key(&id)
    }

    /// The departmentId of a user write: omitted means the root ("若部门未
    /// 填写，账号将默认被分配至公司根目录下"), on update as on create.
    pub(crate) fn user_department(&self, request: &Object) -> ApiResult<i64> {
        let id = opt_int(request, "departmentId")?.unwrap_or(ROOT_DEPARTMENT_ID);
        if !self.department_exists(id) {
            return Err(ApiError::invalid("部门不存在"));
        }
        Ok(id)
    }

    pub(crate) fn create_user(&mut self, request: &Object) -> ApiResult<&User> {
        let account = required_text(request, "account", "账号不能为空")?.to_string();
        let password = required_text(request, "password", "密码不能为空")?;
        let name = required_text(request, "name", "昵称不能为空")?.to_string();
        if self.users.contains_key(&account) {
            return Err(ApiError::invalid("账号已存在"));
        }
        let user = User {
            user_id: self.next_user_id,
            account: account.clone(),
            password: SecretString::from(password),
            name,
            mobile: opt_str(request, "mobile")?.map(str::to_string),
            department_id: self.user_department(request)?,
            role_type: role_type(request)?,
            email: opt_str(request, "email")?.map(str::to_string),
        };
        self.next_user_id += 1;
        Ok(self.users.entry(account).or_insert(user))
    }

    /// The document's PUT: an omitted departmentId moves the user to the
    /// root, an omitted roleType resets it to 2, omitted mobile and email
    /// are cleared; only the password and name keep their values (they
    /// cannot be blank). Clients must therefore send the whole record.
    pub(crate) fn update_user(&mut self, account: &str, request: &Object) -> ApiResult<()> {
        if !self.users.contains_key(account) {
            return Err(ApiError::invalid("账号不存在"));
        }
        let department_id = self.user_department(request)?;
        let role_type = role_type(request)?;
        let name = opt_str(request, "name")?.map(str::trim);
        if name.is_some_and(str::is_empty) {
            return Err(ApiError::invalid("昵称不能为空"));
        }
        let password = opt_str(request, "password")?;
        let mobile = opt_str(request, "mobile")?.map(str::to_string);
        let email = opt_str(request, "email")?.map(str::to_string);
        let user = self
            .users
            .get_mut(account)
            .ok_or_else(|| ApiError::invalid("账号不存在"))?;
        if let Some(name) = name {
            user.name = name.to_string();
        }
        if let Some(password) = password.filter(|p| !p.is_empty()) {
            user.password = SecretString::from(password);
        }
        user.department_id = department_id;
        user.role_type = role_type;
        user.mobile = mobile;
        user.email = email;
        Ok(())
    }

    pub fn department_view(&self, id: i64) -> Option<DepartmentView> {
        let dept = self.departments.get(&id)?;
        Some(DepartmentView {
            department_id: id,
            name: dept.name.clone(),
            parent_id: dept.parent_id,
            full_path: self.full_path(id),
        })
    }

    /// The name and parentId both endpoints require.
    pub(crate) fn department_fields(&self, request: &Object) -> ApiResult<(String, i64)> {
        let name = required_text(request, "name", "部门名称不能为空")?.to_string();
        let parent_id =
            opt_int(request, "parentId")?.ok_or_else(|| ApiError::invalid("上级部门id不能为空"))?;
        if !self.department_exists(parent_id) {
            return Err(ApiError::invalid("上级部门不存在"));
        }
        Ok((name, parent_id))
    }

    pub(crate) fn create_department(&mut self, request: &Object) -> ApiResult<DepartmentView> {
        let (name, parent_id) = self.department_fields(request)?;
        let id = self.next_department_id;
        self.next_department_id += 1;
        self.departments.insert(
            id,
            Department {
                department_id: id,
                name,
                parent_id,
            },
        );
        self.department_view(id)
            .ok_or_else(|| ApiError::business(500))
    }

    /// Whether `ancestor` is `id` or above it.
    pub(crate) fn is_ancestor_or_self(&self, ancestor: i64, mut id: i64) -> bool {
        for _ in 0..=self.departments.len() {
            if id == ancestor {
                return true;
            }
            match self.departments.get(&id) {
                Some(dept) => id = dept.parent_id,
                None => return false,
            }
        }
        false
    }

    pub(crate) fn update_department(
        &mut self,
        id: i64,
        request: &Object,
    ) -> ApiResult<DepartmentView> {
        if !self.departments.contains_key(&id) {
            return Err(ApiError::invalid("部门不存在"));
        }
        let (name, parent_id) = self.department_fields(request)?;
        if self.is_ancestor_or_self(id, parent_id) {
            return Err(ApiError::invalid("上级部门不能是本部门或其下级部门"));
        }
        if let Some(dept) = self.departments.get_mut(&id) {
            dept.name = name;
            dept.parent_id = parent_id;
        }
        self.department_view(id)
            .ok_or_else(|| ApiError::business(500))
    }

    /// "删除部门，部门下的成员，会移动到根目录后，角色修改成普通用户".
    pub(crate) fn delete_department(&mut self, id: i64) -> ApiResult<()> {
        if !self.departments.contains_key(&id) {
            return Err(ApiError::invalid("部门不存在"));
        }
        if self.departments.values().any(|d| d.parent_id == id) {
            return Err(ApiError::invalid("部门下存在子部门，不能删除"));
        }
        self.departments.remove(&id);
        for user in self.users.values_mut().filter(|u| u.department_id == id) {
            user.department_id = ROOT_DEPARTMENT_ID;
            user.role_type = ROLE_ORDINARY;
        }
        Ok(())
    }

    pub(crate) fn create_company(&mut self, request: &Object) -> ApiResult<&Company> {
        let guid = required_text(request, "compGUID", "企业唯一标识不能为空")?.to_string();
        let company = Company {
            comp_guid: guid.clone(),
            comp_name: required_text(request, "compName", "企业名称不能为空")?.to_string(),
            admin: required_text(request, "admin", "管理员账号不能为空")?.to_string(),
            admin_name: required_text(request, "adminName", "管理员昵称不能为空")?.to_string(),
            admin_pwd: SecretString::from(required_text(
                request,
                "adminPwd",
                "管理员密码不能为空",
            )?),
        };
        if self.companies.contains_key(&guid) {
            return Err(ApiError::invalid("企业已存在"));
        }
        Ok(self.companies.entry(guid).or_insert(company))
    }
}
