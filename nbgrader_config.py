"""nbgrader configuration for the course (run nbgrader from the repository root).

The instructor's notebooks with solutions and hidden tests live in
``solutions/<assignment>/``; ``nbgrader generate_assignment`` writes the
student versions to ``assignments/<assignment>/``, which is committed so
students can clone and start. ``submitted/``, ``autograded/``,
``feedback/`` and ``gradebook.db`` are the instructor's working folders
(git-ignored).
"""

# The course's assignments, in order (also read by the tests and tools).
ASSIGNMENTS = [
    "a1_unfolding",
    "a2_bptt",
    "a3_gradients",
    "a4_lstm_gru",
    "a5_bidirectional",
]

c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)

c.CourseDirectory.course_id = "rnn-course"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "assignments"
c.CourseDirectory.db_url = "sqlite:///gradebook.db"

# A student's notebook may have lost cells; put the instructor's test cells back.
c.OverwriteCells.add_missing_cells = True

# Execution limits for grading: no cell may run longer than this, and the
# kernel is interrupted (not left running) when one does.
c.Execute.timeout = 120
c.Execute.interrupt_on_timeout = True
c.Execute.allow_errors = True
c.Execute.raise_on_iopub_timeout = False

# Released notebooks should open clean: no stored outputs in the student copy.
c.ClearOutput.enabled = True
