"""nbgrader's configuration for the lessons (read by `make student` and tests/test_nbgrader.py).

The lessons in lessons/ are nbgrader's *source* version: exercises are solution cells
(### BEGIN SOLUTION / ### END SOLUTION) and autograded check cells, some with hidden tests
(### BEGIN HIDDEN TESTS / ### END HIDDEN TESTS). `make student` copies lessons/ into a course
folder under build/ as the assignment "lessons" and runs `nbgrader generate_assignment` there;
the student version lands in build/student/. A teacher can use lessons/ as the source folder of
an nbgrader course of their own in the same way.
"""
c = get_config()  # noqa: F821 (nbgrader defines it)

c.CourseDirectory.course_id = "fluxlite-lessons"
# Besides nbgrader's defaults, the checks' hint log (lessons/lesson_checks) stays out of the
# release: it is each student's own record.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback",
                            "exercise_hints.jsonl"]
# The longest lesson runs in well under a minute; a cell stuck in a loop fails its notebook.
c.ExecutePreprocessor.timeout = 120
