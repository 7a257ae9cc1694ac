"""nbgrader configuration for the course (run nbgrader from the repository root).

The instructor's notebooks with solutions and hidden tests live in
``solutions/<assignment>/``; ``nbgrader generate_assignment`` writes the
student versions to ``assignments/<assignment>/``. ``submitted/`` (the
submissions you collect), ``grading/`` (everything grading writes) and
``gradebook.db`` are the instructor's working folders (git-ignored).
"""

# The course's assignments, in order (also read by the tests and tools).
ASSIGNMENTS = [
    "a1_unfolding",
    "a2_bptt",
    "a3_gradients",
    "a4_lstm_gru",
    "a5_bidirectional",
]

# The student edition (`make student-edition`) holds the assignments released so far. A
# function an assignment grades is a stub in it until that assignment's solutions are
# published; from then on, later editions hold the reference (later assignments may use it).
RELEASED = ASSIGNMENTS
SOLUTIONS_PUBLISHED = []

c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)

c.CourseDirectory.course_id = "rnn-course"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "assignments"
c.CourseDirectory.db_url = "sqlite:///gradebook.db"
# What grading produces stays under grading/ (`make grade` writes nothing else but the
# gradebook): the graded notebooks the formgrader shows, and nbgrader's feedback.
c.CourseDirectory.autograded_directory = "grading/autograded"
c.CourseDirectory.feedback_directory = "grading/feedback"

# A student's notebook may have lost cells; put the instructor's test cells back.
c.OverwriteCells.add_missing_cells = True

# The time one cell may run while grading, in seconds; `make grade` uses it too. A cell
# that takes longer is interrupted (the kernel is not left running) and fails.
c.Execute.timeout = 120
c.Execute.interrupt_on_timeout = True
c.Execute.raise_on_iopub_timeout = False

# Feedback never shows a hidden test, whichever tool graded the notebook. (nbgrader's
# GenerateFeedback ignores its own `preprocessors` setting, so the step goes on the exporter.)
c.HTMLExporter.preprocessors = ["autograder.feedback.HideHiddenTests"]
# ... and runs nothing a student's output put there (`make feedback` also removes every script)
c.HTMLExporter.sanitize_html = True

# Released notebooks should open clean: no stored outputs in the student copy.
c.ClearOutput.enabled = True

# Due dates and late work (autograder/late.py). Times are ISO 8601 with a time zone. The
# penalty is a share of the points a submission earned, per day (or hour) begun after the
# due date, at most `cap` percent; past `cutoff_hours` a submission gets zero. It is
# recomputed from each row's submission time whenever grades are written.
c.LatePolicy.due = {}  # e.g. {"a1_unfolding": "2027-02-05T23:59:00+01:00"}
c.LatePolicy.extensions = {}  # e.g. {"a1_unfolding": {"jsmith": "2027-02-08T23:59:00+01:00"}}
c.LatePolicy.penalty = "percent_per_day"  # or "percent_per_hour", or "none"
c.LatePolicy.percent = 10
c.LatePolicy.cap = 50
c.LatePolicy.cutoff_hours = None  # e.g. 168: a week late or more gets zero
c.LatePolicy.download_timezone = "UTC"  # the clock of a zip's entry times (Canvas, Moodle)
