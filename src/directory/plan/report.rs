//! The plan as printed and as JSON

use super::*;

pub(super) const SECTIONS: [(Target, Kind, &str); 3] = [
    (Target::CloudRoom, Kind::Department, "CloudRoom departments"),
    (Target::CloudRoom, Kind::User, "CloudRoom users"),
    (Target::Aliyun, Kind::User, "Aliyun users"),
];

/// What `directory plan` prints (text or JSON).
#[derive(Debug, Serialize)]
pub struct PlanReport<'a> {
    pub rows_read: usize,
    pub valid_rows: usize,
    pub problems: &'a [RowProblem],
    pub counts: BTreeMap<&'static str, Counts>,
    pub mass_delete: Option<&'a MassDelete>,
    pub held: &'a [String],
    /// Accounts of `directory.protected_accounts` the export names.
    pub protected: &'a [String],
    pub changes: &'a [Change],
}

impl fmt::Display for PlanReport<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "directory plan: {} rows read, {} valid, {} problem(s)",
            self.rows_read,
            self.valid_rows,
            self.problems.len()
        )?;
        for &(target, kind, title) in &SECTIONS {
            let counts = self.counts.get(title).copied().unwrap_or_default();
            writeln!(
                f,
                "\n{title}: {} to create, {} to update, {} to delete, {} staged",
                counts.create, counts.update, counts.delete, counts.staged
            )?;
            for change in self
                .changes
                .iter()
                .filter(|c| c.target == target && c.kind == kind)
            {
                writeln!(f, "  {change}")?;
            }
        }
        if let Some(m) = self.mass_delete {
            writeln!(
                f,
                "\n{} destructive calls ({} CloudRoom user deletes, {} department deletes, {} Aliyun DeleteUser) exceed directory.max_deletes ({}): they are staged; apply --allow-mass-delete would release all {}",
                m.deletes, m.cloudroom_users, m.departments, m.aliyun_users, m.limit, m.deletes
            )?;
        }
        if !self.protected.is_empty() {
            writeln!(f, "\nprotected:")?;
            for note in self.protected {
                writeln!(f, "  {note}")?;
            }
        }
        if !self.held.is_empty() {
            writeln!(f, "\nheld:")?;
            for note in self.held {
                writeln!(f, "  {note}")?;
            }
        }
        if !self.problems.is_empty() {
            writeln!(f, "\nbad rows (skipped):")?;
            for p in self.problems {
                writeln!(f, "  {p}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = match self.action {
            Action::Create => "+ create",
            Action::Update => "~ update",
            Action::Delete if self.staged => "- delete (staged)",
            Action::Delete => "- delete",
        };
        match self.kind {
            Kind::Department if self.key == self.label => write!(f, "{sign} {}", self.label)?,
            Kind::Department => write!(f, "{sign} {} [{}]", self.label, self.key)?,
            Kind::User => write!(f, "{sign} {} ({})", self.key, self.label)?,
        }
        if let Some(t) = &self.takeover {
            let whose = if t.new_holder {
                "passes from"
            } else {
                "follows the account from"
            };
            write!(f, " ({whose} {}", t.from)?;
            if t.new_holder {
                write!(f, "; password reset")?;
            }
            write!(f, ")")?;
        }
        if self.replaced {
            write!(f, " (its holder moved to another account)")?;
        }
        if !self.fields.is_empty() {
            let diffs: Vec<String> = self
                .fields
                .iter()
                .map(|d| format!("{}: {} -> {}", d.field, d.old, d.new))
                .collect();
            write!(f, " ({})", diffs.join(", "))?;
        }
        Ok(())
    }
}
